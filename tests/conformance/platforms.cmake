# The Moat platforms every conformance suite and every end-to-end test runs on, besides natively.
# Adding a platform here registers `<suite>.moat-<platform>` for all of them (e.g. `ptrace systrap`).
# Included by tests/conformance/CMakeLists.txt and tests/e2e/CMakeLists.txt.
set(MOAT_TEST_PLATFORMS ptrace systrap)
