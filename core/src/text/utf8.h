// text/utf8.h: decoding one UTF-8 code point, with ICU's U8_NEXT.
//
// Well-formed means Unicode's table 3-7: no overlong forms, surrogates or values past U+10FFFF.
// An ill-formed sequence is consumed as its maximal subpart (the Unicode-recommended practice,
// which ICU implements), so callers replacing bad bytes with one marker per subpart agree with
// ICU, browsers and each other.
//
// Thread safety: pure function.
#pragma once

#include <unicode/utf8.h>

#include <cstddef>
#include <string_view>

namespace fieldsync::text {

// Decodes the code point starting at s[i] into *cp and returns the number of bytes it spans, or
// returns 0 if the bytes there are ill-formed; *consumed is always the bytes to skip (>= 1).
inline size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp, size_t* consumed) {
  int32_t next = static_cast<int32_t>(i);
  UChar32 c = 0;
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), next, static_cast<int32_t>(s.size()), c);
  *consumed = static_cast<size_t>(next) - i;
  if (c < 0) return 0;
  *cp = static_cast<char32_t>(c);
  return *consumed;
}

}  // namespace fieldsync::text
