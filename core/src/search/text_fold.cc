// search/text_fold.cc: folding, pinyin and phone digits for search; see text_fold.h.
#include "search/text_fold.h"

#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace fieldsync::search {
namespace {

std::string IcuError(const char* what, UErrorCode code) {
  return std::string(what) + ": " + u_errorName(code);
}

void AppendUtf8(std::string& out, UChar32 c) {
  char buf[U8_MAX_LENGTH];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, c);
  out.append(buf, static_cast<size_t>(n));
}

bool IsAsciiAlnum(UChar32 c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsHan(UChar32 c) {
  if (c >= 0x4E00 && c <= 0x9FFF) return true;  // the common block, without a lookup
  if (c < 0x2E80) return false;
  UErrorCode err = U_ZERO_ERROR;
  return uscript_getScript(c, &err) == USCRIPT_HAN && U_SUCCESS(err);
}

// ---- traditional → simplified --------------------------------------------------------------

// Per-character map from ICU's Traditional-Simplified transliterator, built once. Immutable
// after construction, so lookups need no lock.
class SimplifiedTable {
 public:
  static const SimplifiedTable& Get() {
    static const SimplifiedTable* table = new SimplifiedTable();  // never destroyed: used at exit
    return *table;
  }
  const Status& status() const { return status_; }
  UChar32 Map(UChar32 c) const {
    if (c < min_source_) return c;
    auto it = map_.find(c);
    return it == map_.end() ? c : it->second;
  }

 private:
  SimplifiedTable() {
    UErrorCode err = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> t(
        icu::Transliterator::createInstance("Traditional-Simplified", UTRANS_FORWARD, err));
    if (U_FAILURE(err) || t == nullptr) {
      status_ = Status::Internal(IcuError("ICU Traditional-Simplified", err));
      return;
    }
    icu::UnicodeSet source;
    t->getSourceSet(source);
    for (int32_t r = 0; r < source.getRangeCount(); ++r) {
      for (UChar32 c = source.getRangeStart(r); c <= source.getRangeEnd(r); ++c) {
        icu::UnicodeString s(c);
        t->transliterate(s);
        // Only one-to-one mappings (all of ICU 72's are): a character never grows.
        if (s.countChar32() == 1 && s.char32At(0) != c) map_.emplace(c, s.char32At(0));
      }
    }
    // Resolve chains (a → b → c) so that folding is idempotent: a query typed in the
    // intermediate form must fold to the same character as the text did.
    for (auto& [from, to] : map_) {
      for (int hops = 0; hops < 4; ++hops) {
        auto next = map_.find(to);
        if (next == map_.end() || next->second == to) break;
        to = next->second;
      }
    }
    for (const auto& entry : map_) min_source_ = std::min(min_source_, entry.first);
  }

  Status status_;
  UChar32 min_source_ = 0x110000;
  std::unordered_map<UChar32, UChar32> map_;
};

// ---- pinyin --------------------------------------------------------------------------------

// A syllable packed in 64 bits: ASCII letters in bytes 0-6, length | kKnown in byte 7. Zero
// means "not computed yet"; kKnown with length 0 means "no reading".
using PackedSyllable = uint64_t;
constexpr uint64_t kKnown = 0x80;

PackedSyllable Pack(std::string_view syllable) {
  if (syllable.empty() || syllable.size() > 7) return kKnown << 56;
  uint64_t v = 0;
  for (size_t i = 0; i < syllable.size(); ++i) {
    char ch = syllable[i];
    if (ch < 'a' || ch > 'z') return kKnown << 56;
    v |= static_cast<uint64_t>(static_cast<unsigned char>(ch)) << (8 * i);
  }
  return v | ((kKnown | syllable.size()) << 56);
}

size_t SyllableSize(PackedSyllable p) { return static_cast<size_t>((p >> 56) & 0x7f); }
char SyllableChar(PackedSyllable p, size_t i) { return static_cast<char>((p >> (8 * i)) & 0xff); }

// Readings of Han characters, computed with ICU on first sight and kept. The common blocks
// (U+3400-U+9FFF) live in arrays read without a lock; the rest in a map under mu_.
class PinyinTable {
 public:
  static PinyinTable& Get() {
    static PinyinTable* table = new PinyinTable();  // never destroyed: used at exit
    return *table;
  }

  // `initial`: the character starts a run of Chinese text (read as a surname).
  Result<PackedSyllable> Reading(UChar32 c, bool initial) {
    std::atomic<uint64_t>* slot = nullptr;
    if (c >= kFirst && c < kFirst + kSpan) {
      slot = &fast_[initial ? 1 : 0][c - kFirst];
      PackedSyllable p = slot->load(std::memory_order_acquire);
      if (p != 0) return p;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (slot == nullptr) {
      auto it = slow_.find(SlowKey(c, initial));
      if (it != slow_.end()) return it->second;
    }
    Result<PackedSyllable> p = ComputeLocked(c, initial);
    if (!p.ok()) return p;
    if (slot != nullptr) {
      slot->store(*p, std::memory_order_release);
    } else {
      slow_.emplace(SlowKey(c, initial), *p);
    }
    return p;
  }

 private:
  static constexpr UChar32 kFirst = 0x3400;
  static constexpr UChar32 kSpan = 0xA000 - 0x3400;
  static uint64_t SlowKey(UChar32 c, bool initial) {
    return (static_cast<uint64_t>(c) << 1) | (initial ? 1 : 0);
  }

  Result<PackedSyllable> ComputeLocked(UChar32 c, bool initial) {
    if (translit_ == nullptr) {
      UErrorCode err = U_ZERO_ERROR;
      translit_.reset(
          icu::Transliterator::createInstance("Han-Latin/Names; Latin-ASCII", UTRANS_FORWARD, err));
      if (U_FAILURE(err) || translit_ == nullptr) {
        translit_.reset();
        return Status::Internal(IcuError("ICU Han-Latin/Names", err));
      }
    }
    // Han-Latin/Names reads a Han character that follows a non-Han one (or starts the text) as
    // a surname. A preceding 一 (yi, no special rules) gives the reading inside a name instead.
    icu::UnicodeString s;
    if (!initial) s.append(static_cast<UChar32>(0x4E00));
    s.append(c);
    translit_->transliterate(s);
    std::string out;
    s.toUTF8String(out);
    size_t space = out.rfind(' ');
    std::string_view syllable(out);
    if (space != std::string::npos) syllable.remove_prefix(space + 1);
    if (!initial && space == std::string::npos) syllable = {};  // unexpected shape: no reading
    return Pack(syllable);
  }

  std::mutex mu_;
  std::unique_ptr<icu::Transliterator> translit_;      // guarded by mu_: not thread-safe
  std::unordered_map<uint64_t, PackedSyllable> slow_;  // guarded by mu_
  std::atomic<uint64_t> fast_[2][kSpan] = {};
};

}  // namespace

Result<std::string> FoldText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool ascii = true;
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  }
  bool pending_space = false;
  if (ascii) {
    // NFKC and case folding of ASCII is lowercasing: no ICU needed for Latin text, phones,
    // emails.
    for (char ch : text) {
      auto u = static_cast<unsigned char>(ch);
      if (u <= 0x20 || u == 0x7f) {
        pending_space = !out.empty();
        continue;
      }
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
    }
    return out;
  }
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status::InvalidArgument("text to fold is too long");
  }
  const SimplifiedTable& simplified = SimplifiedTable::Get();
  if (!simplified.status().ok()) return simplified.status();
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(err);
  if (U_FAILURE(err)) return Status::Internal(IcuError("ICU NFKC_Casefold", err));
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString folded = nfkc_cf->normalize(in, err);
  if (U_FAILURE(err)) return Status::Internal(IcuError("ICU normalize", err));
  for (int32_t i = 0; i < folded.length();) {
    UChar32 c = folded.char32At(i);
    i += U16_LENGTH(c);
    if (u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    AppendUtf8(out, simplified.Map(c));
  }
  return out;
}

Result<std::vector<PinyinForm>> PinyinOf(std::string_view folded) {
  PinyinTable& table = PinyinTable::Get();
  PinyinForm surname;  // a run's first character read as a surname
  PinyinForm common;   // common readings only
  bool any = false;
  bool prev_han = false;
  bool prev_alnum = false;
  int32_t i = 0;
  const auto* s = reinterpret_cast<const uint8_t*>(folded.data());
  const auto length = static_cast<int32_t>(folded.size());
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c >= 0 && c < 0x80 && IsAsciiAlnum(c)) {
      auto ch = static_cast<char>(c);
      surname.full.push_back(ch);
      common.full.push_back(ch);
      if (!prev_alnum) {
        surname.initials.push_back(ch);
        common.initials.push_back(ch);
      }
      prev_alnum = true;
      prev_han = false;
      continue;
    }
    prev_alnum = false;
    if (c < 0 || !IsHan(c)) {
      prev_han = false;
      continue;
    }
    Result<PackedSyllable> first = table.Reading(c, /*initial=*/!prev_han);
    if (!first.ok()) return first.status();
    Result<PackedSyllable> inner = prev_han ? first : table.Reading(c, /*initial=*/false);
    if (!inner.ok()) return inner.status();
    prev_han = true;
    for (auto [form, packed] : {std::pair<PinyinForm*, PackedSyllable>{&surname, *first},
                                std::pair<PinyinForm*, PackedSyllable>{&common, *inner}}) {
      size_t n = SyllableSize(packed);
      if (n == 0) continue;
      any = true;
      for (size_t k = 0; k < n; ++k) form->full.push_back(SyllableChar(packed, k));
      form->initials.push_back(SyllableChar(packed, 0));
    }
  }
  std::vector<PinyinForm> forms;
  if (!any) return forms;
  bool differs = surname.full != common.full;
  forms.push_back(std::move(surname));
  if (differs) forms.push_back(std::move(common));
  return forms;
}

bool LooksLikePhone(std::string_view folded) {
  bool digit = false;
  for (char ch : folded) {
    if (ch >= '0' && ch <= '9') {
      digit = true;
    } else if (ch != '+' && ch != '-' && ch != '(' && ch != ')' && ch != '.' && ch != '/' &&
               ch != ' ') {
      return false;
    }
  }
  return digit;
}

std::vector<std::string> PhoneDigits(std::string_view folded) {
  std::string digits;
  for (char ch : folded) {
    if (ch >= '0' && ch <= '9') digits.push_back(ch);
  }
  std::vector<std::string> forms;
  if (digits.empty()) return forms;
  // A Chinese landline is dialled nationally as 0 + area code + number (+86 21 ... → 021 ...);
  // mobiles (+86 1...) have no trunk prefix, so their national form is already a substring.
  bool chinese_landline = !folded.empty() && folded.front() == '+' && digits.size() > 3 &&
                          digits.compare(0, 2, "86") == 0 && digits[2] != '1';
  std::string national = chinese_landline ? "0" + digits.substr(2) : std::string();
  forms.push_back(std::move(digits));
  if (!national.empty()) forms.push_back(std::move(national));
  return forms;
}

size_t CodePointCount(std::string_view utf8) {
  size_t n = 0;
  for (char ch : utf8) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace fieldsync::search
