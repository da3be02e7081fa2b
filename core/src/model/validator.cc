// model/validator.cc: checks and normalizes records against a schema (see validator.h and the
// "Validation and normalization" section of docs/schema.md, which lists every rule).
//
// The validator never logs: its messages may quote what the user typed (a rep needs to see which
// phone number was refused), so they go back to the caller only, who must not log them either.
// libphonenumber is configured by default with a NullLogger, so it prints nothing.
//
// Thread safety: Normalize keeps no state between calls. The shared pieces it uses are safe for
// concurrent use: PhoneNumberUtil::GetInstance() is created once under pthread_once and its
// parse/validate/format methods are const, with the internal regexp cache behind a mutex; ICU's
// Normalizer2::getNFCInstance() returns an immutable, thread-safe singleton.
#include "model/validator.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <utility>

#include "fieldsync/calendar.h"
#include "text/json_depth.h"
#include "text/utf8.h"

namespace fieldsync::model {
namespace {

using nlohmann::json;
using Errors = std::vector<FieldError>;

// Stands in for each invalid UTF-8 sequence so the JSON parser (which refuses such bytes) can
// still read the record and the validator can name the field. U+FDD0 is a Unicode
// noncharacter: it never occurs in interchanged text, so a genuine one is refused as well.
constexpr char kInvalidMarker[] = "\xEF\xB7\x90";
constexpr char32_t kInvalidMarkerCodePoint = 0xFDD0;

// The text length limit when a field declares no max_length, in code points.
constexpr int kDefaultMaxTextLength = 10000;
// RFC 5321's limit for a forward path, the longest address mail can be sent to.
constexpr size_t kMaxEmailLength = 254;
// The parser and dump() are recursive in places; nothing in a record is legitimately deeper.
constexpr int kMaxNesting = 64;
// A canonical decimal longer than this is almost surely garbage (or an exponent bomb).
constexpr size_t kMaxDecimalDigits = 40;
// How much of a bad value a message quotes, in code points.
constexpr size_t kQuoteLimit = 40;

// ---- UTF-8 ----------------------------------------------------------------------------------

// Decodes the code point at s[i] (text/utf8.h). Returns its length, or 0 if the bytes there are
// not well-formed, in which case *bad is the length of the maximal ill-formed subpart, which is
// replaced by one marker.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp, size_t* bad) {
  return text::DecodeUtf8(s, i, cp, bad);
}

bool IsCleanUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t bad = 0;
    const size_t n = DecodeUtf8(s, i, &cp, &bad);
    if (n == 0 || cp == kInvalidMarkerCodePoint) return false;
    i += n;
  }
  return true;
}

// `s` with each ill-formed sequence replaced by U+FFFD, for quoting in messages.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t bad = 0;
    const size_t n = DecodeUtf8(s, i, &cp, &bad);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += bad;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t CountCodePoints(std::string_view s) {
  size_t count = 0;
  for (char c : s) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Chinese input methods type full-width forms (１３８, ＠, ．, ideographic space) in what are
// really ASCII formats. Maps U+FF01..U+FF5E to ASCII and U+3000 to a space; with `dots`, also
// the ideographic full stops that UTS #46 treats as label separators in domain names (。｡).
// Expects clean UTF-8.
std::string FoldFullWidth(std::string_view s, bool dots) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t bad = 0;
    const size_t n = DecodeUtf8(s, i, &cp, &bad);
    if (n == 0) return std::string(s);  // not reached for clean input; keep it unchanged
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      cp -= 0xFEE0;
    } else if (cp == 0x3000) {
      cp = ' ';
    } else if (dots && (cp == 0x3002 || cp == 0xFF61)) {
      cp = '.';
    }
    AppendUtf8(cp, &out);
    i += n;
  }
  return out;
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// True if `s` is empty or only spaces (ASCII or the ideographic space U+3000).
bool IsBlank(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsAsciiSpace(s[i])) continue;
    if (s.substr(i, 3) == "\xE3\x80\x80") {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

void LowercaseAscii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// 'value' for a message, cut to kQuoteLimit code points.
std::string Quote(std::string_view value) {
  std::string clean = SanitizeUtf8(value);
  size_t count = 0, i = 0;
  for (; i < clean.size(); ++i) {
    if ((static_cast<unsigned char>(clean[i]) & 0xC0) != 0x80 && count++ == kQuoteLimit) break;
  }
  if (i < clean.size()) clean = clean.substr(0, i) + "…";
  return "'" + clean + "'";
}

std::string JsonKind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

std::string Expected(const std::string& what, const json& got) {
  return "expected " + what + ", got " + JsonKind(got);
}

// Prints a schema bound: 1 rather than 1.000000.
std::string FormatBound(double x) {
  char buf[32];
  if (std::floor(x) == x && std::fabs(x) < 9.0e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
  } else {
    std::snprintf(buf, sizeof buf, "%g", x);
  }
  return buf;
}

// ---- Text -----------------------------------------------------------------------------------

// Text to NFC, so that the same characters typed on different devices (composed or decomposed)
// compare, search and sync as equal. ASCII is already NFC.
bool ToNfc(std::string_view s, std::string* out) {
  if (std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; })) {
    out->assign(s);
    return true;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) return false;
  const icu::UnicodeString u =
      icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  if (nfc->isNormalized(u, status) && U_SUCCESS(status)) {
    out->assign(s);
    return true;
  }
  status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = nfc->normalize(u, status);
  if (U_FAILURE(status)) return false;
  out->clear();
  normalized.toUTF8String(*out);
  return true;
}

// Checks a string as user text: well-formed UTF-8, no control characters other than tab and
// line breaks; then NFC. On failure returns false with *problem set.
bool CleanText(std::string_view s, std::string* out, std::string* problem) {
  if (!IsCleanUtf8(s)) {
    *problem = "is not valid UTF-8 text";
    return false;
  }
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\t' && c != '\n' && c != '\r') || b == 0x7F) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", b);
      *problem = std::string("contains a control character (") + code + ")";
      return false;
    }
  }
  if (!ToNfc(s, out)) {
    *problem = "could not be normalized as Unicode text";
    return false;
  }
  return true;
}

bool CheckLength(const std::string& s, int max_length, std::string* problem) {
  const size_t limit = static_cast<size_t>(max_length > 0 ? max_length : kDefaultMaxTextLength);
  const size_t length = CountCodePoints(s);
  if (length <= limit) return true;
  *problem =
      "is too long: " + std::to_string(length) + " characters, at most " + std::to_string(limit);
  return false;
}

// ---- Numbers --------------------------------------------------------------------------------

// value = (negative ? -1 : 1) * digits * 10^exponent, printed without an exponent, leading
// zeros or trailing fractional zeros: "12345.5", "0.05", "-3", "0".
bool CanonicalDecimal(bool negative, std::string digits, int64_t exponent, std::string* out) {
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *out = "0";
    return true;
  }
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  // Checked before building the string, so "1e999999999" costs nothing.
  const int64_t length = static_cast<int64_t>(digits.size());
  const int64_t total = exponent >= 0 ? length + exponent : std::max(length, -exponent) + 1;
  if (total > static_cast<int64_t>(kMaxDecimalDigits)) return false;
  std::string s;
  if (exponent >= 0) {
    s = digits + std::string(static_cast<size_t>(exponent), '0');
  } else {
    const int64_t point = length + exponent;  // digits before the decimal point
    if (point > 0) {
      s = digits.substr(0, static_cast<size_t>(point)) + "." +
          digits.substr(static_cast<size_t>(point));
    } else {
      s = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    }
  }
  *out = negative ? "-" + s : s;
  return true;
}

// Parses [+-]digits[.digits][(e|E)[+-]digits] (at least one mantissa digit) into canonical form.
// Returns false for anything else, including "NaN", "inf", "1,000" and "".
bool ParseDecimal(std::string_view s, std::string* out, bool* too_long) {
  *too_long = false;
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  std::string digits;
  int64_t exponent = 0;
  bool any = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    digits += s[i++];
    any = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      digits += s[i++];
      --exponent;
      any = true;
    }
  }
  if (!any) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    if (i == s.size()) return false;
    int64_t e = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (e < 1000000) e = e * 10 + (s[i] - '0');  // capped: the length check refuses it anyway
      ++i;
    }
    exponent += exp_negative ? -e : e;
  }
  if (i != s.size()) return false;
  if (digits.size() > 1000) {  // absurd input; refuse before doing any work on it
    *too_long = true;
    return false;
  }
  if (!CanonicalDecimal(negative, digits, exponent, out)) {
    *too_long = true;
    return false;
  }
  return true;
}

bool InRange(const FieldDef& def, double x) {
  return !(def.min < def.max) || (x >= def.min && x <= def.max);
}

std::string RangeProblem(const FieldDef& def, const std::string& got) {
  return "must be between " + FormatBound(def.min) + " and " + FormatBound(def.max) + ", got " +
         got;
}

// ---- Dates ----------------------------------------------------------------------------------

using calendar::DaysFromCivil;
using calendar::DaysInMonth;

void CivilFromDays(int64_t days, int64_t* y, int* m, int* d) {
  const calendar::CivilDate date = calendar::CivilFromDays(days);
  *y = date.year;
  *m = date.month;
  *d = date.day;
}

// Reads `count` ASCII digits at s[*i].
bool ReadDigits(std::string_view s, size_t* i, size_t count, int* out) {
  if (*i + count > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < count; ++k) {
    const char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += count;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

enum class DateParse { kOk, kFormat, kCalendar };

// "YYYY-MM-DD" at s[*i], years 0001..9999.
DateParse ReadDate(std::string_view s, size_t* i, int* y, int* m, int* d) {
  if (!ReadDigits(s, i, 4, y) || !Expect(s, i, '-') || !ReadDigits(s, i, 2, m) ||
      !Expect(s, i, '-') || !ReadDigits(s, i, 2, d)) {
    return DateParse::kFormat;
  }
  if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > DaysInMonth(*y, *m))
    return DateParse::kCalendar;
  return DateParse::kOk;
}

bool NormalizeDate(const std::string& text, std::string* out, std::string* problem) {
  const std::string s(TrimAscii(FoldFullWidth(text, false)));
  size_t i = 0;
  int y = 0, m = 0, d = 0;
  const DateParse r = ReadDate(s, &i, &y, &m, &d);
  if (r == DateParse::kFormat || i != s.size()) {
    *problem = Quote(text) + " is not a date in the form YYYY-MM-DD";
    return false;
  }
  if (r == DateParse::kCalendar) {
    *problem = Quote(text) + " is not a real calendar date";
    return false;
  }
  *out = s;
  return true;
}

// RFC 3339 date-time: date, 'T' (or 't' or a space, which RFC 3339 section 5.6 permits),
// HH:MM:SS, optional fraction, then 'Z' or an offset. A time without an offset is refused:
// guessing the zone would put a visit logged in Urumqi or abroad at the wrong hour.
bool NormalizeDateTime(const std::string& text, std::string* out, std::string* problem) {
  const std::string s(TrimAscii(FoldFullWidth(text, false)));
  const std::string bad =
      Quote(text) + " is not an RFC 3339 date-time (e.g. 2024-03-15T09:30:00+08:00)";
  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  const DateParse r = ReadDate(s, &i, &y, &mo, &d);
  if (r == DateParse::kFormat) {
    *problem = bad;
    return false;
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) {
    *problem = bad;
    return false;
  }
  ++i;
  if (!ReadDigits(s, &i, 2, &h) || !Expect(s, &i, ':') || !ReadDigits(s, &i, 2, &mi) ||
      !Expect(s, &i, ':') || !ReadDigits(s, &i, 2, &sec)) {
    *problem = bad;
    return false;
  }
  int millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t n = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n) {
      if (n < 3) millis = millis * 10 + (s[i] - '0');  // truncated to milliseconds
    }
    if (n == 0) {
      *problem = bad;
      return false;
    }
    for (; n < 3; ++n) millis *= 10;
  }
  int offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!ReadDigits(s, &i, 2, &oh) || !Expect(s, &i, ':') || !ReadDigits(s, &i, 2, &om) ||
        oh > 23 || om > 59) {
      *problem = bad;
      return false;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else if (i == s.size()) {
    *problem = Quote(text) + " has no time zone offset (add Z for UTC or e.g. +08:00)";
    return false;
  }
  if (i != s.size()) {
    *problem = bad;
    return false;
  }
  // Leap seconds (:60) are refused: they cannot be represented once converted to UTC millis.
  if (r == DateParse::kCalendar || h > 23 || mi > 59 || sec > 59) {
    *problem = Quote(text) + " is not a real date and time";
    return false;
  }
  const int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                          static_cast<int64_t>(offset_minutes) * 60;
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t uy = 0;
  int um = 0, ud = 0;
  CivilFromDays(days, &uy, &um, &ud);
  if (uy < 1 || uy > 9999) {
    *problem = Quote(text) + " is outside the years 0001 to 9999 in UTC";
    return false;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", static_cast<int>(uy), um,
                ud, static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60), millis);
  *out = buf;
  return true;
}

// ---- Phones, emails, URLs -------------------------------------------------------------------

bool NormalizePhone(const std::string& text, const std::string& region, std::string* out,
                    std::string* problem) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const std::string s(TrimAscii(text));
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  // Parse accepts the usual punctuation, full-width digits and a leading + (or 00 with the
  // region's international prefix); IsValidNumber checks length and prefixes against the
  // region's numbering plan, which is what catches a mobile number with a digit missing.
  if (s.empty() || util.Parse(s, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsValidNumber(number)) {
    *problem = Quote(s) + " is not a valid phone number (region " + region + ")";
    return false;
  }
  if (number.has_extension()) {
    // E.164 has no room for an extension; dropping it silently would lose what the rep typed.
    *problem = Quote(s) + " has an extension, which a phone field cannot hold (note it elsewhere)";
    return false;
  }
  util.Format(number, PhoneNumberUtil::E164, out);
  return true;
}

// Characters never valid in an address outside quoted local parts (which are not supported:
// nobody hands out "john doe"@example.com on a business card).
bool IsEmailSpecial(char c) {
  return IsAsciiSpace(c) || std::string_view("()<>[]\\,;:\"").find(c) != std::string_view::npos;
}

bool CheckDotAtoms(std::string_view part) {
  if (part.empty() || part.front() == '.' || part.back() == '.') return false;
  return part.find("..") == std::string_view::npos;
}

bool NormalizeEmail(const std::string& text, std::string* out, std::string* problem) {
  std::string s(TrimAscii(FoldFullWidth(text, true)));
  const std::string bad = Quote(text) + " is not a valid email address";
  if (CountCodePoints(s) > kMaxEmailLength) {
    *problem = bad + " (longer than " + std::to_string(kMaxEmailLength) + " characters)";
    return false;
  }
  const size_t at = s.find('@');
  if (at == std::string::npos || s.find('@', at + 1) != std::string::npos) {
    *problem = bad + " (it needs exactly one @)";
    return false;
  }
  const std::string_view local = std::string_view(s).substr(0, at);
  const std::string_view domain = std::string_view(s).substr(at + 1);
  if (std::any_of(s.begin(), s.end(), IsEmailSpecial)) {
    *problem = bad + " (it contains a space or a character such as , ; : < >)";
    return false;
  }
  if (local.empty()) {
    *problem = bad + " (nothing before the @)";
    return false;
  }
  if (!CheckDotAtoms(local)) {
    *problem = bad + " (misplaced dot before the @)";
    return false;
  }
  if (domain.find('.') == std::string_view::npos || !CheckDotAtoms(domain) ||
      domain.front() == '-' || domain.back() == '-') {
    *problem = bad + " (the part after the @ must be a domain such as example.com)";
    return false;
  }
  LowercaseAscii(&s);
  *out = std::move(s);
  return true;
}

bool NormalizeUrl(const std::string& text, std::string* out, std::string* problem) {
  std::string s(TrimAscii(FoldFullWidth(text, false)));
  const std::string bad = Quote(text) + " is not a valid http or https URL";
  std::string lower = s.substr(0, 8);
  LowercaseAscii(&lower);
  size_t scheme_end;
  if (lower.rfind("http://", 0) == 0) {
    scheme_end = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else {
    *problem = Quote(text) + " must start with http:// or https://";
    return false;
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      *problem = bad + " (it contains a space)";
      return false;
    }
  }
  const size_t authority_end = s.find_first_of("/?#", scheme_end);
  std::string authority =
      s.substr(scheme_end,
               authority_end == std::string::npos ? std::string::npos : authority_end - scheme_end);
  const size_t at = authority.rfind('@');
  const size_t host_begin = at == std::string::npos ? 0 : at + 1;
  std::string host = authority.substr(host_begin);
  const size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']') == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      *problem = bad + " (bad port)";
      return false;
    }
    host.erase(colon);
  }
  if (host.empty() || host.front() == '.' || host.find("..") != std::string::npos) {
    *problem = bad + " (no host name)";
    return false;
  }
  // Scheme and host are case-insensitive; the path is not and is kept as typed.
  std::string folded_host = FoldFullWidth(host, true);
  LowercaseAscii(&folded_host);
  std::string port_part = authority.substr(host_begin + host.size());
  std::string scheme = s.substr(0, scheme_end);
  LowercaseAscii(&scheme);
  *out = scheme + authority.substr(0, host_begin) + folded_host + port_part +
         (authority_end == std::string::npos ? "" : s.substr(authority_end));
  return true;
}

// ---- Field values ---------------------------------------------------------------------------

// Scans a JSON value of a json-typed field for strings or keys that are not clean UTF-8.
bool JsonIsCleanText(const json& v) {
  if (v.is_string()) return IsCleanUtf8(v.get_ref<const std::string&>());
  if (v.is_array()) {
    return std::all_of(v.begin(), v.end(), [](const json& e) { return JsonIsCleanText(e); });
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!IsCleanUtf8(it.key()) || !JsonIsCleanText(it.value())) return false;
    }
  }
  return true;
}

std::string ExpectedFor(const FieldDef& def) {
  switch (def.type) {
    case FieldType::kText:
      return "a string";
    case FieldType::kInteger:
      return "an integer";
    case FieldType::kDecimal:
    case FieldType::kMoney:
      return "a number or a numeric string";
    case FieldType::kBool:
      return "true or false";
    case FieldType::kDate:
      return "a date string \"YYYY-MM-DD\"";
    case FieldType::kDateTime:
      return "an RFC 3339 date-time string";
    case FieldType::kEnum:
      return "a string";
    case FieldType::kPhone:
      return "a phone number as a string";
    case FieldType::kEmail:
      return "an email address as a string";
    case FieldType::kUrl:
      return "a URL as a string";
    case FieldType::kGeoPoint:
      return "an object {\"lat\": ..., \"lon\": ...}";
    case FieldType::kStringSet:
      return "an array of strings";
    case FieldType::kJson:
      return "any JSON value";
  }
  return "a value";
}

// What an array of a repeated field holds, for messages: "phone numbers".
std::string PluralFor(const FieldDef& def) {
  switch (def.type) {
    case FieldType::kInteger:
      return "integers";
    case FieldType::kDecimal:
    case FieldType::kMoney:
      return "numbers";
    case FieldType::kBool:
      return "booleans";
    case FieldType::kDate:
      return "dates";
    case FieldType::kDateTime:
      return "date-times";
    case FieldType::kPhone:
      return "phone numbers";
    case FieldType::kEmail:
      return "email addresses";
    case FieldType::kUrl:
      return "URLs";
    case FieldType::kGeoPoint:
      return "geo points";
    default:
      return "strings";
  }
}

std::string JoinValues(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

bool NormalizeGeoPoint(const json& v, json* out, std::string* problem) {
  if (!v.is_object()) {
    *problem = Expected("an object {\"lat\": ..., \"lon\": ...}", v);
    return false;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "lat" && it.key() != "lon") {
      *problem = "has an unknown member " + Quote(it.key()) + " (only lat and lon)";
      return false;
    }
  }
  double coords[2];
  const char* names[2] = {"lat", "lon"};
  const double limits[2] = {90, 180};
  for (int k = 0; k < 2; ++k) {
    auto it = v.find(names[k]);
    if (it == v.end()) {
      *problem = std::string("needs ") + names[k];
      return false;
    }
    // JSON booleans are not numbers here, although nlohmann could convert them.
    if (!it->is_number() || !std::isfinite(it->get<double>()) ||
        std::fabs(it->get<double>()) > limits[k]) {
      *problem = std::string(names[k]) + " must be a number from -" + FormatBound(limits[k]) +
                 " to " + FormatBound(limits[k]) + ", got " +
                 (it->is_number() ? it->dump() : JsonKind(*it));
      return false;
    }
    coords[k] = it->get<double>();
  }
  *out = json{{"lat", coords[0]}, {"lon", coords[1]}};
  return true;
}

// Normalizes one value of def.type (one element, for repeated fields). Returns false with
// *problem set. String sets are handled by NormalizeStringSet.
bool NormalizeScalar(const FieldDef& def, const json& v, const std::string& region, json* out,
                     std::string* problem) {
  switch (def.type) {
    case FieldType::kJson:
      if (!JsonIsCleanText(v)) {
        *problem = "contains text that is not valid UTF-8";
        return false;
      }
      *out = v;
      return true;
    case FieldType::kBool:
      if (!v.is_boolean()) {
        *problem = Expected("true or false", v);
        return false;
      }
      *out = v;
      return true;
    case FieldType::kInteger: {
      int64_t n = 0;
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        *problem = "is too large for a 64-bit integer";
        return false;
      } else if (v.is_number_integer()) {
        n = v.get<int64_t>();
      } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
                 std::floor(v.get<double>()) == v.get<double>() &&
                 std::fabs(v.get<double>()) < 9.0e15) {
        n = static_cast<int64_t>(v.get<double>());  // 5.0 from a JavaScript client is 5
      } else if (v.is_number()) {
        *problem = "expected an integer, got " + v.dump();
        return false;
      } else {
        *problem = Expected("an integer", v);
        return false;
      }
      if (!InRange(def, static_cast<double>(n))) {
        *problem = RangeProblem(def, std::to_string(n));
        return false;
      }
      *out = n;
      return true;
    }
    case FieldType::kDecimal:
    case FieldType::kMoney: {
      std::string canonical;
      bool too_long = false;
      if (v.is_number_integer()) {
        canonical = v.dump();
      } else if (v.is_number_float()) {
        if (!std::isfinite(v.get<double>())) {
          *problem = "is not a finite number";
          return false;
        }
        // dump() prints the shortest text that reads back as the same double ("0.1", not
        // "0.1000000000000000055"); ParseDecimal then removes any exponent.
        if (!ParseDecimal(v.dump(), &canonical, &too_long)) {
          *problem = "has more than " + std::to_string(kMaxDecimalDigits) + " digits";
          return false;
        }
      } else if (v.is_string()) {
        const std::string& raw = v.get_ref<const std::string&>();
        if (!IsCleanUtf8(raw)) {
          *problem = "is not valid UTF-8 text";
          return false;
        }
        if (!ParseDecimal(TrimAscii(FoldFullWidth(raw, false)), &canonical, &too_long)) {
          *problem = too_long ? "has more than " + std::to_string(kMaxDecimalDigits) + " digits"
                              : Quote(raw) + " is not a decimal number (e.g. 12345.50)";
          return false;
        }
      } else {
        *problem = Expected("a number or a numeric string", v);
        return false;
      }
      if (!InRange(def, std::strtod(canonical.c_str(), nullptr))) {
        *problem = RangeProblem(def, canonical);
        return false;
      }
      *out = canonical;
      return true;
    }
    case FieldType::kGeoPoint:
      return NormalizeGeoPoint(v, out, problem);
    case FieldType::kStringSet:
      *problem = "internal: string sets are normalized elsewhere";
      return false;
    default:
      break;
  }

  // The rest are strings: text, enum, date, datetime, phone, email, url.
  if (!v.is_string()) {
    *problem = Expected(ExpectedFor(def), v);
    return false;
  }
  std::string text;
  if (!CleanText(v.get_ref<const std::string&>(), &text, problem)) return false;
  std::string normalized;
  switch (def.type) {
    case FieldType::kText:
      if (def.required && IsBlank(text)) {
        *problem = "is required and cannot be empty";
        return false;
      }
      if (!CheckLength(text, def.max_length, problem)) return false;
      *out = std::move(text);
      return true;
    case FieldType::kEnum:
      if (std::find(def.enum_values.begin(), def.enum_values.end(), text) ==
          def.enum_values.end()) {
        *problem = Quote(text) + " is not one of: " + JoinValues(def.enum_values);
        return false;
      }
      *out = std::move(text);
      return true;
    case FieldType::kDate:
      if (!NormalizeDate(text, &normalized, problem)) return false;
      break;
    case FieldType::kDateTime:
      if (!NormalizeDateTime(text, &normalized, problem)) return false;
      break;
    case FieldType::kPhone:
      if (!NormalizePhone(text, region, &normalized, problem)) return false;
      break;
    case FieldType::kEmail:
      if (!NormalizeEmail(text, &normalized, problem)) return false;
      break;
    case FieldType::kUrl:
      if (!CheckLength(text, def.max_length, problem)) return false;
      if (!NormalizeUrl(text, &normalized, problem)) return false;
      break;
    default:
      *problem = "internal: unhandled field type";
      return false;
  }
  *out = std::move(normalized);
  return true;
}

// A string set: each element is text (trimmed, because set members are compared for identity
// when sets merge, and "VIP " must not be a different tag from "VIP"); deduplicated and sorted.
bool NormalizeStringSet(const FieldDef& def, const json& v, json* out, Errors* errors) {
  if (!v.is_array()) {
    errors->push_back({def.name, Expected("an array of strings", v)});
    return false;
  }
  std::set<std::string> members;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string name = def.name + "[" + std::to_string(i) + "]";
    if (!v[i].is_string()) {
      errors->push_back({name, Expected("a string", v[i])});
      ok = false;
      continue;
    }
    std::string text, problem;
    if (!CleanText(v[i].get_ref<const std::string&>(), &text, &problem)) {
      errors->push_back({name, problem});
      ok = false;
      continue;
    }
    text = std::string(TrimAscii(text));
    if (IsBlank(text)) {
      errors->push_back({name, "must not be empty"});
      ok = false;
    } else if (!CheckLength(text, def.max_length, &problem)) {
      errors->push_back({name, problem});
      ok = false;
    } else {
      members.insert(std::move(text));
    }
  }
  if (!ok) return false;
  *out = json::array();
  for (const std::string& m : members) out->push_back(m);  // std::set: sorted by UTF-8 bytes
  return true;
}

// Normalizes a present, non-null value of a field, appending its errors.
bool NormalizeField(const FieldDef& def, const json& v, const std::string& region, json* out,
                    Errors* errors) {
  if (def.type == FieldType::kStringSet) return NormalizeStringSet(def, v, out, errors);
  std::string problem;
  if (!def.repeated) {
    if (NormalizeScalar(def, v, region, out, &problem)) return true;
    errors->push_back({def.name, problem});
    return false;
  }
  if (!v.is_array()) {
    errors->push_back({def.name, Expected("an array of " + PluralFor(def), v)});
    return false;
  }
  if (def.required && v.empty()) {
    errors->push_back({def.name, "is required: give at least one value"});
    return false;
  }
  *out = json::array();
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    json element;
    if (NormalizeScalar(def, v[i], region, &element, &problem)) {
      // "138 0013 8000" and "+86 138 0013 8000" are one number once normalized; keep the first
      // occurrence so the order the rep chose (primary number first) survives.
      if (std::find(out->begin(), out->end(), element) == out->end()) out->push_back(element);
    } else {
      errors->push_back({def.name + "[" + std::to_string(i) + "]", problem});
      ok = false;
    }
  }
  return ok;
}

// Scans JSON text: the maximal ill-formed UTF-8 subparts become markers (in *repaired, if there
// are any) and the nesting depth outside strings is measured.
void ScanRecordText(std::string_view text, std::string* repaired, bool* changed, int* max_depth) {
  *changed = false;
  text::JsonDepthTracker depth;
  size_t copied = 0;  // text[0, copied) is already in *repaired
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      char32_t cp = 0;
      size_t bad = 0;
      const size_t n = DecodeUtf8(text, i, &cp, &bad);
      if (n == 0) {
        repaired->append(text.substr(copied, i - copied));
        repaired->append(kInvalidMarker);
        *changed = true;
        i += bad;
        copied = i;
      } else {
        i += n;
      }
      depth.Feed('\0');  // a non-ASCII character: ends an escape, nothing else
      continue;
    }
    depth.Feed(text[i]);
    ++i;
  }
  *max_depth = depth.max_depth();
  if (*changed) repaired->append(text.substr(copied));
}

}  // namespace

std::string DescribeFieldErrors(std::string_view collection,
                                const std::vector<FieldError>& errors) {
  std::string msg = "invalid " + std::string(collection) + " record: ";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) msg += "; ";
    if (!errors[i].field.empty()) msg += errors[i].field + ": ";
    msg += errors[i].problem;
  }
  return msg;
}

Result<nlohmann::json> ParseRecordJson(std::string_view text) {
  std::string repaired;
  bool changed;
  int depth;
  ScanRecordText(text, &repaired, &changed, &depth);
  if (depth > kMaxNesting) {
    return Status::InvalidArgument("record JSON is nested more than " +
                                   std::to_string(kMaxNesting) + " levels deep");
  }
  const std::string_view input = changed ? std::string_view(repaired) : text;
  json value;
  try {
    value = json::parse(input.begin(), input.end());
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...".
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what.erase(0, bracket + 2);
    return Status::InvalidArgument("malformed JSON: " + SanitizeUtf8(what));
  }
  if (!value.is_object()) {
    return Status::InvalidArgument("a record must be a JSON object, got " + JsonKind(value));
  }
  return value;
}

Validator::Validator(const Schema* schema, std::string default_region)
    : schema_(schema), default_region_(std::move(default_region)) {
  // libphonenumber wants CLDR region codes in upper case; "cn" from a config file means CN.
  for (char& c : default_region_) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
}

Result<nlohmann::json> Validator::Normalize(const CollectionDef& collection,
                                            const nlohmann::json& input, bool is_patch,
                                            std::vector<FieldError>* errors) const {
  Errors found;
  json out = json::object();
  if (schema_ != nullptr && schema_->Collection(collection.name) == nullptr) {
    found.push_back({"", "the schema has no collection named " + Quote(collection.name)});
  } else if (!input.is_object()) {
    found.push_back({"", "a record must be a JSON object, got " + JsonKind(input)});
  } else {
    // Declaration order, so messages list fields the way forms show them.
    for (const FieldDef& def : collection.fields) {
      auto it = input.find(def.name);
      if (it == input.end() || it->is_null()) {
        if (it != input.end() && is_patch) {
          if (def.required) {
            found.push_back({def.name, "is required and cannot be cleared"});
          } else {
            out[def.name] = nullptr;  // a patch's null clears the field
          }
        } else if (!is_patch && def.required) {
          found.push_back({def.name, "is required"});
        }
        continue;
      }
      json value;
      if (NormalizeField(def, *it, default_region_, &value, &found))
        out[def.name] = std::move(value);
    }
    for (auto it = input.begin(); it != input.end(); ++it) {
      if (it.key() == "id" || collection.Field(it.key()) != nullptr) continue;
      found.push_back({SanitizeUtf8(it.key()), "is not a field of " + collection.name});
    }
  }
  if (errors != nullptr) *errors = found;
  if (!found.empty()) return Status::InvalidArgument(DescribeFieldErrors(collection.name, found));
  return out;
}

}  // namespace fieldsync::model
