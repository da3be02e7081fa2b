# fieldsync_set_warnings(target): the warning set every fieldsync target builds with.
function(fieldsync_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                         -Wnull-dereference -Wimplicit-fallthrough)
  if(FIELDSYNC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(FIELDSYNC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
