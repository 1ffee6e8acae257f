# Included from tests/CMakeLists.txt: the fuzz_smoke test, a short bounded run
# of every libFuzzer target (tests/fuzz/run.sh builds them with clang in its
# own tree under this build directory). ON when clang can link libFuzzer;
# otherwise the test is registered anyway and reports a skip.
find_program(MASKLOAD_CLANG NAMES clang clang-14)
set(_fuzz_default OFF)
if(MASKLOAD_CLANG)
  set(_probe ${CMAKE_CURRENT_BINARY_DIR}/fuzz_probe.c)
  file(WRITE ${_probe} "int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n")
  execute_process(COMMAND ${MASKLOAD_CLANG} -fsanitize=fuzzer ${_probe} -o ${CMAKE_CURRENT_BINARY_DIR}/fuzz_probe
                  RESULT_VARIABLE _probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(_probe_rc EQUAL 0)
    set(_fuzz_default ON)
  endif()
endif()
option(MASKLOAD_FUZZ_SMOKE "run the libFuzzer targets briefly in ctest (needs clang + libFuzzer)" ${_fuzz_default})
set(MASKLOAD_FUZZ_SMOKE_SECONDS 10 CACHE STRING "seconds per fuzz target in the fuzz_smoke test")
set(MASKLOAD_FUZZ_SMOKE_RUNS 50000 CACHE STRING "at most this many inputs per fuzz target in fuzz_smoke")
if(MASKLOAD_FUZZ_SMOKE)
  add_test(NAME fuzz_smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.sh
           --build-dir ${CMAKE_BINARY_DIR}/fuzz --seconds ${MASKLOAD_FUZZ_SMOKE_SECONDS}
           --runs ${MASKLOAD_FUZZ_SMOKE_RUNS})
  set_tests_properties(fuzz_smoke PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77
                       ENVIRONMENT "CLANG=${MASKLOAD_CLANG}")
else()
  add_test(NAME fuzz_smoke COMMAND sh -c "echo 'skip: clang with libFuzzer not found (or MASKLOAD_FUZZ_SMOKE=OFF)'; exit 77")
  set_tests_properties(fuzz_smoke PROPERTIES SKIP_RETURN_CODE 77)
endif()
