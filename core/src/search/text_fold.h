// search/text_fold.h: the text transforms behind search: folding, pinyin and phone digits.
//
// Search matches folded text against a folded query, so both sides go through the same
// functions here:
//   FoldText     NFKC, Unicode case folding, traditional → simplified Chinese, whitespace and
//                control characters collapsed to single spaces and trimmed
//                ("臺北 Customer" → "台北 customer", "ＡＢＣ" → "abc");
//   PinyinOf     pinyin of the Chinese characters of folded text, in full without spaces and by
//                initials ("张伟" → "zhangwei", "zw"), tone marks removed;
//   PhoneDigits  the digit strings a phone number is found by (E.164 and national forms).
//
// The transforms come from ICU ("Traditional-Simplified", "Han-Latin/Names; Latin-ASCII") but
// are applied one character at a time from tables built out of those transliterators, for two
// reasons:
//   - substring search needs Fold(part of s) to be part of Fold(s). ICU's transliterators look
//     at context (乾隆 keeps 乾, 乾 alone becomes 干), so a query fragment could fold differently
//     from the same characters inside a name. Per-character folding cannot.
//   - speed: a transliterator call costs 2-70 µs per string; a table lookup costs nanoseconds,
//     and indexing a record has a budget of about 20 µs.
// What per-character pinyin loses: ICU's few two-character rules (长孙, 重庆 after another
// character). It keeps the /Names rule that a character starting a run of Chinese text is read
// as a surname (单 shan, 解 xie, 曾 zeng); PinyinOf returns the common reading as a second
// variant when it differs, so 单 is found by both "shan" and "dan".
//
// The traditional → simplified table is built once per process (about 25 ms, on first use).
// Pinyin readings are computed on first sight of each character (about 15 µs each) and kept.
//
// Thread safety: all functions are thread-safe. ICU transliterators are not; they are only used
// under an internal mutex, while lookups of already-known characters take no lock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/status.h"

namespace fieldsync::search {

// `text` folded for matching (see above). Invalid UTF-8 becomes U+FFFD. Internal if ICU fails.
Result<std::string> FoldText(std::string_view text);

struct PinyinForm {
  std::string full;      // "zhangweiming": syllables without spaces, ASCII words kept
  std::string initials;  // "zwm": first letter of each syllable and of each ASCII word
};

// Pinyin forms of already folded text; empty when it has no Chinese character with a reading.
// The first form reads a character that starts a run of Chinese text as a surname; a second
// form, with common readings only, follows when it differs. Other characters are skipped except
// ASCII letters and digits, which are kept as they are.
Result<std::vector<PinyinForm>> PinyinOf(std::string_view folded);

// True when folded text is a phone number: digits and + - ( ) . / space only, with a digit.
bool LooksLikePhone(std::string_view folded);

// The digit strings a phone number (folded, LooksLikePhone) is matched by: all its digits
// ("+86 138 0013 8000" → "8613800138000", which contains the national "13800138000"), plus the
// national form with the trunk prefix 0 for Chinese landlines ("+862112345678" →
// "02112345678"), which is not a substring of the E.164 digits.
std::vector<std::string> PhoneDigits(std::string_view folded);

// Number of code points in valid UTF-8.
size_t CodePointCount(std::string_view utf8);

}  // namespace fieldsync::search
