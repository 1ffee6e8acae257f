# maskload_embedded_files(ROOT OUT_VAR): the rule that writes the C file of
# the embedded SQL and mapping files (cmake/embed_sql.cmake, sqlfiles.h) under
# the build directory, for the main build and the fuzz build alike; sets
# OUT_VAR to that file, to be compiled with the loader's modules.
function(maskload_embedded_files root out_var)
  set(dirs ddl grants views/monitoring queries mappings ddl/postgres views/postgres/monitoring
    queries/postgres)
  set(globs)
  foreach(d IN LISTS dirs)
    list(APPEND globs ${root}/${d}/*.sql ${root}/${d}/*.yaml)
  endforeach()
  file(GLOB files CONFIGURE_DEPENDS ${globs})
  set(out ${CMAKE_BINARY_DIR}/sqlfiles_data.c)
  string(REPLACE ";" "\\;" dirs_arg "${dirs}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DROOT=${root} -DOUT=${out} "-DDIRS=${dirs_arg}"
            -P ${root}/cmake/embed_sql.cmake
    DEPENDS ${files} ${root}/cmake/embed_sql.cmake
    COMMENT "embedding SQL and mapping files")
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
