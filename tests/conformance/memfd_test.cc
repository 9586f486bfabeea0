// Conformance: memfd_create(2) and seals.
#include <gtest/gtest.h>
