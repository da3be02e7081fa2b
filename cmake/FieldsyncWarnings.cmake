# fieldsync_set_warnings(target): the warning set every fieldsync target builds with.
# -Wnull-dereference is left out on purpose: GCC 12 runs it only on optimized code, and there it
# reports false positives inside inlined system headers (libstdc++'s streambuf, nlohmann/json.hpp)
# that no fieldsync code can fix. Every other warning is an error (FIELDSYNC_WERROR, default ON).
function(fieldsync_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                         -Wimplicit-fallthrough)
  if(FIELDSYNC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(FIELDSYNC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
