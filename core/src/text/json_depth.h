// text/json_depth.h: measures how deeply JSON text nests arrays and objects, before parsing it.
//
// Parsers recurse per level, so input nested thousands deep can exhaust the stack; callers check
// the depth first and refuse such text with a clear error. Brackets inside strings do not count.
// The tracker works byte by byte and is indifferent to UTF-8: no byte of a multibyte sequence is
// a quote, backslash or bracket.
//
// Thread safety: a value; one tracker per scan.
#pragma once

#include <algorithm>
#include <string_view>

namespace fieldsync::text {

class JsonDepthTracker {
 public:
  void Feed(char c) {
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      max_depth_ = std::max(max_depth_, ++depth_);
    } else if (c == '}' || c == ']') {
      --depth_;
    }
  }
  int max_depth() const { return max_depth_; }

 private:
  int depth_ = 0;
  int max_depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

// The deepest nesting of arrays and objects in `text`, outside strings.
inline int JsonNestingDepth(std::string_view text) {
  JsonDepthTracker tracker;
  for (char c : text) tracker.Feed(c);
  return tracker.max_depth();
}

}  // namespace fieldsync::text
