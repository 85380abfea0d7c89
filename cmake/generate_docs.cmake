# Run at build time (cmake -P): writes the man page and the completion scripts by running the
# built cmdai, so they come from the same flag definitions as --help. -DCMDAI=<binary> -DOUT=<dir>
file(MAKE_DIRECTORY ${OUT})
foreach(item "man-page;cmdai.1" "completion;bash;cmdai.bash" "completion;zsh;_cmdai"
             "completion;fish;cmdai.fish")
  list(POP_BACK item file_name)
  execute_process(COMMAND ${CMDAI} ${item} OUTPUT_FILE ${OUT}/${file_name}.tmp
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "`cmdai ${item}` failed (${status})")
  endif()
  file(RENAME ${OUT}/${file_name}.tmp ${OUT}/${file_name})
endforeach()
