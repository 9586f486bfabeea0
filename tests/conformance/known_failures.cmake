# Reads known_failures.txt: what cannot pass yet under Moat, one test per line, with the reason.
#
#   <ctest test> <gtest name or *>  # reason
#
#   mmap.moat-ptrace   MmapTest.GrowsDownExpandsOnAccessBelow  # no stack growth yet (#12)
#   exit.abort.moat-ptrace  *                                  # no signals yet (#7)
#
# A gtest name is left out of that CTest test with --gtest_filter=-Name:... ; `*` marks the whole
# CTest test WILL_FAIL, so it turns red the day it starts passing and the line must go. Lines without
# a reason, or naming a CTest test that does not exist, stop the configure; gtest names that the
# suite does not have fail the `conformance.known_failures` test. (No `;` in lines: CMake lists.)

set(MOAT_KNOWN_FAILURES_FILE ${CMAKE_CURRENT_LIST_DIR}/known_failures.txt)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${MOAT_KNOWN_FAILURES_FILE})

get_property(_moat_kf_parsed GLOBAL PROPERTY MOAT_KF_PARSED)
if(NOT _moat_kf_parsed)
  set_property(GLOBAL PROPERTY MOAT_KF_PARSED TRUE)
  set_property(GLOBAL PROPERTY MOAT_KF_KEYS "")
  set_property(GLOBAL PROPERTY MOAT_KF_USED "")
  file(STRINGS ${MOAT_KNOWN_FAILURES_FILE} _moat_kf_lines)
  foreach(_line IN LISTS _moat_kf_lines)
    string(STRIP "${_line}" _line)
    if(_line STREQUAL "" OR _line MATCHES "^#")
      continue()
    endif()
    if(NOT _line MATCHES "^([A-Za-z0-9_.-]+)[ \t]+([A-Za-z0-9_./*-]+)[ \t]+#[ \t]*([^ \t].*)$")
      message(FATAL_ERROR "known_failures.txt: want '<ctest test> <gtest test or *>  # reason', got: ${_line}")
    endif()
    set(_key ${CMAKE_MATCH_1})
    set(_name ${CMAKE_MATCH_2})
    set_property(GLOBAL APPEND PROPERTY MOAT_KF_KEYS ${_key})
    set_property(GLOBAL APPEND PROPERTY MOAT_KF_${_key} ${_name})
  endforeach()
endif()

# Sets out_var to the gtest arguments excluding the known failures of `test` (empty if none).
function(moat_known_failure_gtest_args test out_var)
  get_property(names GLOBAL PROPERTY MOAT_KF_${test})
  list(REMOVE_ITEM names "*")
  if(names)
    list(JOIN names ":" joined)
    set(${out_var} "--gtest_filter=-${joined}" PARENT_SCOPE)
  else()
    set(${out_var} "" PARENT_SCOPE)
  endif()
  set_property(GLOBAL APPEND PROPERTY MOAT_KF_USED ${test})
endfunction()

# Call after add_test(NAME test ...): applies a `*` entry (WILL_FAIL) and records the test as known.
function(moat_apply_known_failures test)
  get_property(names GLOBAL PROPERTY MOAT_KF_${test})
  if("*" IN_LIST names)
    set_tests_properties(${test} PROPERTIES WILL_FAIL TRUE)
    list(REMOVE_ITEM names "*")
    if(names)
      message(FATAL_ERROR "known_failures.txt: ${test} lists both * and single tests")
    endif()
  endif()
  set_property(GLOBAL APPEND PROPERTY MOAT_KF_USED ${test})
endfunction()

function(_moat_known_failures_check_used)
  get_property(keys GLOBAL PROPERTY MOAT_KF_KEYS)
  get_property(used GLOBAL PROPERTY MOAT_KF_USED)
  foreach(key IN LISTS keys)
    if(NOT key IN_LIST used)
      message(SEND_ERROR "known_failures.txt names ${key}, which is not a registered test")
    endif()
  endforeach()
endfunction()

# Registers conformance.known_failures (every gtest name listed must exist in its suite) and the
# end-of-configure check that every CTest name listed exists. Call once, after the suites.
function(moat_known_failures_lint)
  get_property(suites GLOBAL PROPERTY MOAT_CONFORMANCE_SUITES)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  add_test(NAME conformance.known_failures
           COMMAND Python3::Interpreter ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/check_known_failures.py
                   ${MOAT_KNOWN_FAILURES_FILE} ${suites})
  set_tests_properties(conformance.known_failures PROPERTIES LABELS "conformance;native" TIMEOUT 60)
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _moat_known_failures_check_used)
endfunction()
