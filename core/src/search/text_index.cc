// search/text_index.cc: the search index over customers and contacts; see text_index.h.
//
// TABLES (all created by CreateSearchTables; nothing here is read by other modules)
//   fs_search_doc(doc INTEGER PRIMARY KEY, collection, id, payload, UNIQUE(collection, id))
//       One row per indexed record. `payload` holds the record's folded values as items
//       "<kind><field>\x1f<value>\x1e", kind being
//         t  folded text (FoldText)          "张伟明", "acme trading", "wang.fang@example.cn"
//         d  phone digits (PhoneDigits)      "8613800138000", "02161234567"
//       Search verifies and ranks every candidate on its payload: no false positives. Pinyin
//       is derived from t values when needed (PinyinOf: table lookups, ~0.2 µs a name) rather
//       than stored, which halved this table. Common field and collection names are stored as
//       one byte (kCommonNames).
//   fs_search_tri   FTS5 trigram (case_sensitive 1: text is folded already), 4 columns.
//       Per field (see SLOTS): its p (pinyin, "zhangweiming"), i (initials, "zwm"), d values, and
//       its t values unless made only of wide letters (Chinese text is served by bigrams below).
//       One value per column, so no trigram spans two values.
//   fs_search_short FTS5 with the ascii tokenizer, which keeps each space-separated gram whole
//       (bytes >= 0x80 are token characters). The grams that FTS5 trigram cannot serve (it
//       finds nothing under three characters; TOOLCHAIN.md's trap):
//         - every character and adjacent pair in runs of wide letters of t values
//           (张伟明 → 张 伟 明 张伟 伟明): 张伟 and 伟 are found, and so are longer Chinese
//           queries, by ANDing their bigrams;
//         - the first one and two characters of each ASCII word of t values (acme → a ac);
//         - the first one and two characters of p values (zhangwei → z zh);
//         - the first character and every pair of i values (shmhmyyxgs → s sh hm mh ...);
//         - one ExactToken per value ("x" + 16-bit hash) so that records equal to the query are
//           found however common the query (see RANKING).
//   Both FTS tables are contentless (content='', columnsize=0) and detail=none: no text and no
//   positions stored, about one byte per posting. Why FTS5 rather than a WITHOUT ROWID (gram,
//   doc) table: FTS5 buffers a transaction's postings in memory and writes compressed doclists;
//   a B-tree costs an insert and ~10 bytes per (gram, doc).
//
// SLOTS. Each field of a record has its own row in both FTS tables: rowid = doc * 4 + slot,
// the slot being the field's rank in the payload (further fields share slot 3). An edit of one
// field rewrites that field's rows only (a contentless FTS5 row can only be deleted whole).
//
// CONTENTLESS DELETES. A row is deleted with FTS5's 'delete' command and the text it was
// inserted with, rebuilt from the stored payload. Pinyin in it comes from PinyinOf of this
// process: should an ICU upgrade change a reading, the delete misses the old trigrams, which
// stay as ghost postings. Ghosts only add candidates that verification drops (CompactSearchIndex
// clears them); they never hide a record.
//
// MATCHING. The query is folded like the text. Its forms: `text` (the folded query), `compact`
// (text without spaces, only for an ASCII query: "zhang wei" → "zhangwei"), `digits` (for a
// query made of digits and phone punctuation, with at least 3 digits). A record matches when
// one of its values does:
//   t  text of 3+ characters: substring. 1-2 wide letters (张伟, 伟): substring. 1-2 ASCII
//      letters or digits: at the start of a word (ac → "Acme Trading", "wang.fang@...").
//   p  compact of 3+: substring (zhangwei, weiming). 1-2: prefix (zh → 张).
//   i  compact of 2+: substring (zw → 张伟, mh → 上海明辉贸易). 1: prefix.
//   d  digits: substring (0013800 → +8613800138000).
// Other short queries (one or two punctuation characters, mixed scripts) match nothing. Each
// rule has its grams in the index, so the index finds every matching record: no misses. A
// 1-2 letter ASCII query thus means "starts with" (search as you type); three letters match
// anywhere.
//
// RANKING. score = 100 × class + field weight + coverage:
//   class    exact value 3, prefix of the value 2, elsewhere 1;
//   weight   name 60 > other text (company, contact name) 50 > pinyin 45 (of name) / 40 >
//            initials 35 / 30 > phone 20 > email 10;
//   coverage query length / value length, in (0, 1]: 伟 ranks 张伟 above 张伟明.
// A record scores its best value; ties go by id, then collection. IndexHit.field is the
// caller's field name, also for pinyin and digit matches. Records equal to a query form are
// looked up first by ExactToken; then at most kMaxCandidates other candidates are verified,
// newest first. So for a query matching more records than that (one character, a word of every
// company name), exact matches still come first but the rest are the best of the newest 2000.
//
// TRANSACTIONS. IndexRecord and RemoveRecord run in the caller's transaction, or in their own
// when there is none. Never in a SAVEPOINT: on SQLite 3.40 FTS5 writes its pending terms out as
// a new segment at every savepoint (xSavepoint → sqlite3Fts5StorageSync), which cost ~100 µs a
// record in segment merges. Callers should not wrap each edit in a savepoint either.
//
// STATEMENTS are prepared once per connection (StatementCache below, which also explains how the
// cache lets the connection close). Every value is bound; FTS5 query strings are built from
// quoted tokens and bound too.
//
// COST on this machine (2 cores; tests/core/search_test.cc "timing", 100,000 customers,
// encrypted store, 1,000 records per transaction): a new record ~22-29 µs, one field edited
// 12-23 µs, unchanged entries ~2 µs; queries p50 ~2 ms, p95 ~5 ms; index ~35 MB.
//
// Thread safety: as text_index.h says; every call uses only the connection it is given, and
// the statement cache registry is locked.
#include "search/text_index.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "model/sql.h"
#include "search/text_fold.h"

namespace fieldsync::search {
namespace {

constexpr char kText = 't';
constexpr char kPinyin = 'p';
constexpr char kInitials = 'i';
constexpr char kDigits = 'd';
constexpr char kItemEnd = '\x1e';   // ends a payload item; separates values in a trigram column
constexpr char kFieldEnd = '\x1f';  // ends the field name inside an item

// A long query is looked up by at most this many n-grams (see NgramGroup).
constexpr size_t kMaxGramsPerForm = 6;

// Candidates verified per query, newest records first. Verifying one reads its payload, often a
// page of its own (about 3 µs with decryption when not cached), so this bounds a query that
// matches thousands of records (one character, a word in every company name) to a few ms.
// Records equal to the query are looked up first and separately, so they always rank first.
constexpr int64_t kMaxCandidates = 2000;

constexpr const char* kCreateSql =
    "CREATE TABLE IF NOT EXISTS fs_search_doc("
    " doc INTEGER PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL,"
    " payload TEXT NOT NULL, UNIQUE(collection, id));"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fs_search_tri USING fts5("
    " v0, v1, v2, v3,"
    " tokenize='trigram case_sensitive 1', detail=none, content='', columnsize=0);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fs_search_short USING fts5("
    " grams, tokenize='ascii', detail=none, content='', columnsize=0);";

// ---- payload -------------------------------------------------------------------------------

// Names stored as one byte (\x01 + index) in payloads and in fs_search_doc.collection: the
// built-in schema's searchable fields and collections, which every record repeats. Other names
// are stored as they are (they cannot start with a control character: CheckName). APPEND ONLY:
// stored data refers to these by position.
constexpr std::string_view kCommonNames[] = {"name",  "company",   "phones",  "emails",
                                             "email", "customers", "contacts"};
constexpr char kCommonNameCodes[] = "\x01\x02\x03\x04\x05\x06\x07";
static_assert(sizeof(kCommonNameCodes) - 1 == std::size(kCommonNames));

std::string_view ShortName(std::string_view name) {
  for (size_t i = 0; i < std::size(kCommonNames); ++i) {
    if (name == kCommonNames[i]) return std::string_view(&kCommonNameCodes[i], 1);
  }
  return name;
}

std::string_view FullName(std::string_view stored) {
  if (stored.size() == 1) {
    auto code = static_cast<size_t>(static_cast<unsigned char>(stored[0]));
    if (code >= 1 && code <= std::size(kCommonNames)) return kCommonNames[code - 1];
  }
  return stored;
}

Status CheckName(std::string_view name, const char* what) {
  if (name.empty()) return Status::InvalidArgument(std::string("search: empty ") + what);
  for (char ch : name) {
    if (static_cast<unsigned char>(ch) < 0x20) {
      return Status::InvalidArgument(std::string("search: control character in ") + what);
    }
  }
  return Status::OK();
}

struct Item {
  char kind;
  std::string_view field;
  std::string_view value;
};

// Calls fn(raw, item) for each well-formed item of a payload, `raw` being its bytes.
template <typename Fn>
void ForEachRawItem(std::string_view payload, Fn&& fn) {
  size_t pos = 0;
  while (pos < payload.size()) {
    size_t end = payload.find(kItemEnd, pos);
    if (end == std::string_view::npos) end = payload.size();
    std::string_view raw = payload.substr(pos, end + 1 - pos);  // with its \x1e, if any
    std::string_view item = payload.substr(pos, end - pos);
    pos = end + 1;
    size_t field_end = item.find(kFieldEnd);
    if (item.size() < 2 || field_end == std::string_view::npos) continue;
    fn(raw, Item{item[0], FullName(item.substr(1, field_end - 1)), item.substr(field_end + 1)});
  }
}

template <typename Fn>
void ForEachItem(std::string_view payload, Fn&& fn) {
  ForEachRawItem(payload, [&fn](std::string_view, const Item& item) { fn(item); });
}

Result<std::string> BuildPayload(const std::vector<IndexEntry>& entries) {
  std::vector<std::string> items;
  auto add = [&items](char kind, std::string_view field, std::string_view value) {
    if (value.empty()) return;
    std::string item(1, kind);
    item.append(ShortName(field)).append(1, kFieldEnd).append(value).append(1, kItemEnd);
    if (std::find(items.begin(), items.end(), item) == items.end()) {
      items.push_back(std::move(item));
    }
  };
  for (const IndexEntry& entry : entries) {
    FIELDSYNC_RETURN_IF_ERROR(CheckName(entry.field, "field name"));
    Result<std::string> folded = FoldText(entry.text);
    if (!folded.ok()) return folded.status();
    if (folded->empty()) continue;
    if (LooksLikePhone(*folded)) {
      for (const std::string& digits : PhoneDigits(*folded)) add(kDigits, entry.field, digits);
      continue;
    }
    add(kText, entry.field, *folded);
  }
  std::string payload;
  for (const std::string& item : items) payload += item;
  return payload;
}

bool IsAsciiAlnum(UChar32 c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A letter or digit outside ASCII: Han, kana, hangul, accented Latin, ...
bool IsWideWordChar(UChar32 c) { return c >= 0x80 && u_isalnum(c); }

// Visits the code points of valid UTF-8: fn(c, start, end) with byte offsets.
template <typename Fn>
void ForEachCodePoint(std::string_view s, Fn&& fn) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto n = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < n) {
    int32_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    fn(c, static_cast<size_t>(start), static_cast<size_t>(i));
  }
}

// True when `s` is made only of wide letters (IsWideWordChar).
bool AllWide(std::string_view s) {
  bool wide = !s.empty();
  ForEachCodePoint(s, [&wide](UChar32 c, size_t, size_t) { wide = wide && IsWideWordChar(c); });
  return wide;
}

// The short grams of a text value (see fs_search_short), passed to add(std::string_view).
template <typename Add>
void AddTextGrams(std::string_view value, Add&& add) {
  bool prev_alnum = false;
  size_t wide_start = std::string_view::npos;  // start of the previous wide letter, if any
  ForEachCodePoint(value, [&](UChar32 c, size_t start, size_t end) {
    if (IsAsciiAlnum(c)) {
      if (!prev_alnum) {
        add(value.substr(start, 1));
        if (end < value.size() && IsAsciiAlnum(static_cast<unsigned char>(value[end]))) {
          add(value.substr(start, 2));
        }
      }
      prev_alnum = true;
      wide_start = std::string_view::npos;
      return;
    }
    prev_alnum = false;
    if (!IsWideWordChar(c)) {
      wide_start = std::string_view::npos;
      return;
    }
    add(value.substr(start, end - start));
    if (wide_start != std::string_view::npos) add(value.substr(wide_start, end - wide_start));
    wide_start = start;
  });
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}

// Visits every form a payload is matched by: its items, and after each text item with Chinese
// characters the pinyin and initials derived from it (p and i; computed, not stored: see
// fs_search_doc above). Values of derived items live only during the call.
template <typename Fn>
Status ForEachForm(std::string_view payload, bool with_pinyin, Fn&& fn) {
  Status status;
  ForEachItem(payload, [&](const Item& item) {
    if (!status.ok()) return;
    fn(item);
    if (!with_pinyin || item.kind != kText || IsAscii(item.value)) return;
    Result<std::vector<PinyinForm>> pinyin = PinyinOf(item.value);
    if (!pinyin.ok()) {
      status = pinyin.status();
      return;
    }
    for (size_t k = 0; k < pinyin->size(); ++k) {
      const PinyinForm& form = (*pinyin)[k];
      fn(Item{kPinyin, item.field, form.full});
      if (k == 0 || form.initials != (*pinyin)[0].initials) {
        fn(Item{kInitials, item.field, form.initials});
      }
    }
  });
  return status;
}

// A token standing for a whole value, so that records whose value equals the query are found
// however common the query is (see RANKING): "x" and 4 hex digits of its FNV-1a hash. Other
// ASCII tokens have at most 2 characters, so it meets no other token. Sixteen bits on purpose:
// a collision only adds a candidate, which verification removes (about 8 per query at 100,000
// records), while unique tokens would make the term dictionary a fifth bigger.
std::string ExactToken(std::string_view value) {
  uint64_t h = 14695981039346656037ull;
  for (char ch : value) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token = "x";
  for (int shift = 12; shift >= 0; shift -= 4) token.push_back(kHex[(h >> shift) & 0xf]);
  return token;
}

// Columns of fs_search_tri. A value gets a column of its own so that no trigram spans two
// values (such junk trigrams were a fifth of all); values beyond the last column share it.
constexpr size_t kTrigramColumns = 4;

// Each field of a record has its own row in both FTS tables, rowid = doc * kSlots + slot, the
// slot being the field's rank in the payload. Editing one field (the common update) then
// rewrites only that field's rows: a contentless FTS5 row can only be deleted whole (measured
// with one row per record: a company edit 45 µs, a phone edit 74 µs; now 19 and 12). It also
// keeps a query's n-grams from being satisfied by two different fields. Four slots fit the
// built-in collections (customers: name, company, phones, emails); further fields share the
// last. More slots would spread rowids and cost index size (16 slots: +20%).
constexpr int64_t kSlots = 4;

// What one field of a payload puts in the two FTS tables.
struct FtsRow {
  // fs_search_tri: the forms, one per column, except text made only of wide letters (a Chinese
  // name or company): that is found through its 2-character grams in fs_search_short, which
  // are there anyway for short queries. That halves the trigrams written per record.
  std::array<std::string, kTrigramColumns> trigram;
  size_t trigram_values = 0;
  // fs_search_short: the distinct grams, space-separated.
  std::string grams;
};

// The payload items of each slot, concatenated: payload fragments that compare equal when the
// field did not change.
std::vector<std::string> SplitSlots(std::string_view payload) {
  std::vector<std::string_view> fields;  // by first appearance
  std::vector<std::string> slots;
  ForEachRawItem(payload, [&](std::string_view raw, const Item& item) {
    auto slot =
        static_cast<size_t>(std::find(fields.begin(), fields.end(), item.field) - fields.begin());
    if (slot == fields.size()) fields.push_back(item.field);
    slot = std::min(slot, static_cast<size_t>(kSlots - 1));
    if (slots.size() <= slot) slots.resize(slot + 1);
    slots[slot].append(raw);
  });
  return slots;
}

// The FTS row of one slot's payload fragment. Grams are not deduplicated: FTS5 keeps one
// posting per token and row anyway, and sorting them cost more than the tokenizer's extra work.
Result<FtsRow> MakeFtsRow(std::string_view fragment) {
  FtsRow row;
  auto add_gram = [&row](std::string_view gram) {
    if (!row.grams.empty()) row.grams.push_back(' ');
    row.grams.append(gram);
  };
  Status s = ForEachForm(fragment, /*with_pinyin=*/true, [&](const Item& item) {
    const std::string_view v = item.value;
    if (item.kind != kInitials) add_gram(ExactToken(v));
    if (!(item.kind == kText && AllWide(v))) {
      std::string& column = row.trigram[std::min(row.trigram_values, kTrigramColumns - 1)];
      if (!column.empty()) column.push_back(kItemEnd);
      column.append(v);
      ++row.trigram_values;
    }
    switch (item.kind) {
      case kText:
        AddTextGrams(v, add_gram);
        break;
      case kPinyin:
        add_gram(v.substr(0, 1));
        if (v.size() >= 2) add_gram(v.substr(0, 2));
        break;
      case kInitials:  // first letter, then every pair (see MATCHING)
        add_gram(v.substr(0, 1));
        for (size_t i = 0; i + 1 < v.size(); ++i) add_gram(v.substr(i, 2));
        break;
      default:
        break;
    }
  });
  if (!s.ok()) return s;
  return row;
}

// ---- SQL -----------------------------------------------------------------------------------

// Every statement this file runs. Parameters are bound, never spliced.
enum Sql {
  kBegin,
  kCommit,
  kRollback,
  kFindDoc,
  kInsertDoc,
  kUpdateDoc,
  kDeleteDoc,
  kRemoveDoc,
  kTrigramInsert,
  kTrigramDelete,
  kShortInsert,
  kShortDelete,
  kSearchTrigram,
  kSearchShort,
  kSearchBoth,
  kSqlCount,
};

static_assert(kSlots == 4, "kSqlText's search statements divide rowids by 4");

constexpr const char* kSqlText[kSqlCount] = {
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT doc, payload FROM fs_search_doc WHERE collection = ?1 AND id = ?2",
    "INSERT INTO fs_search_doc(collection, id, payload) VALUES(?1, ?2, ?3)",
    "UPDATE fs_search_doc SET payload = ?2 WHERE doc = ?1",
    "DELETE FROM fs_search_doc WHERE doc = ?1",
    "DELETE FROM fs_search_doc WHERE collection = ?1 AND id = ?2 RETURNING doc, payload",
    "INSERT INTO fs_search_tri(rowid, v0, v1, v2, v3) VALUES(?1, ?2, ?3, ?4, ?5)",
    "INSERT INTO fs_search_tri(fs_search_tri, rowid, v0, v1, v2, v3)"
    " VALUES('delete', ?1, ?2, ?3, ?4, ?5)",
    "INSERT INTO fs_search_short(rowid, grams) VALUES(?1, ?2)",
    "INSERT INTO fs_search_short(fs_search_short, rowid, grams) VALUES('delete', ?1, ?2)",
    // A record matching in several fields comes once per field, on adjacent rows (rowid DESC).
    "SELECT d.doc, d.collection, d.id, d.payload FROM fs_search_tri"
    " JOIN fs_search_doc AS d ON d.doc = fs_search_tri.rowid / 4 WHERE fs_search_tri MATCH ?1"
    " ORDER BY fs_search_tri.rowid DESC LIMIT ?3",
    "SELECT d.doc, d.collection, d.id, d.payload FROM fs_search_short"
    " JOIN fs_search_doc AS d ON d.doc = fs_search_short.rowid / 4"
    " WHERE fs_search_short MATCH ?2 ORDER BY fs_search_short.rowid DESC LIMIT ?3",
    "SELECT d.doc, d.collection, d.id, d.payload FROM fs_search_doc AS d WHERE d.doc IN ("
    " SELECT rowid / 4 FROM fs_search_tri WHERE fs_search_tri MATCH ?1"
    " UNION SELECT rowid / 4 FROM fs_search_short WHERE fs_search_short MATCH ?2)"
    " ORDER BY d.doc DESC LIMIT ?3",
};

// STATEMENT CACHE. Preparing a statement costs about 4 µs, as much as the rest of an index
// update, so statements are prepared once per connection and kept. The difficulty is the
// connection's end: the owner closes it (Store uses sqlite3_close_v2), and a statement still
// prepared on it would keep it open forever as a zombie (sqlite3_close would refuse with BUSY).
// So the cache registers a tiny eponymous virtual table module on the connection and
// instantiates it once. sqlite3_close calls xDisconnect on every virtual table *before* it
// checks for unfinalized statements (SQLite does this so that virtual tables such as FTS5 can
// keep prepared statements), and our xDisconnect finalizes the cached statements. The module's
// destructor, run when the connection is really freed, drops the cache from the registry, so a
// later connection at the same address never sees stale statements.
//
// A cache belongs to one connection and is used under that connection's one-thread-at-a-time
// rule (text_index.h); only the registry is shared, under registry_mu.
class StatementCache {
 public:
  // The cache of `db`, registering it on first use.
  static Result<StatementCache*> For(sqlite3* db);

  // The prepared statement for `sql`, reset and unbound: ready to bind.
  Result<sqlite3_stmt*> Get(Sql sql) {
    if (!armed_) FIELDSYNC_RETURN_IF_ERROR(Arm());
    sqlite3_stmt*& stmt = statements_[sql];
    if (stmt == nullptr) {
      int rc =
          sqlite3_prepare_v3(db_, kSqlText[sql], -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        stmt = nullptr;
        return model::SqliteStatus(db_, rc, "search: prepare");
      }
    }
    return stmt;
  }

 private:
  static constexpr const char* kModuleName = "fs_search_statement_cache";

  explicit StatementCache(sqlite3* db) : db_(db) {}

  void FinalizeAll() {
    for (sqlite3_stmt*& stmt : statements_) {
      sqlite3_finalize(stmt);
      stmt = nullptr;
    }
    armed_ = false;
  }

  // Instantiates the eponymous table, so that closing the connection reaches xDisconnect.
  Status Arm() {
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = std::string("SELECT * FROM ") + kModuleName;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) return model::SqliteStatus(db_, rc, "search: statement cache");
    if (!armed_) return Status::Internal("search: statement cache did not connect");
    return Status::OK();
  }

  // The virtual table: no rows; it exists for xConnect and xDisconnect.
  struct Table {
    sqlite3_vtab base;  // first: SQLite sees a sqlite3_vtab*
    StatementCache* cache;
  };
  static int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(unused)");
    if (rc != SQLITE_OK) return rc;
    auto* table = new Table{};
    table->cache = static_cast<StatementCache*>(aux);
    table->cache->armed_ = true;
    *out = &table->base;
    return SQLITE_OK;
  }
  static int Disconnect(sqlite3_vtab* vtab) {
    auto* table = reinterpret_cast<Table*>(vtab);
    table->cache->FinalizeAll();
    delete table;
    return SQLITE_OK;
  }
  static int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
    info->estimatedCost = 1;
    return SQLITE_OK;
  }
  static int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    *out = new sqlite3_vtab_cursor{};
    return SQLITE_OK;
  }
  static int Close(sqlite3_vtab_cursor* cursor) {
    delete cursor;
    return SQLITE_OK;
  }
  static int Filter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**) {
    return SQLITE_OK;
  }
  static int Next(sqlite3_vtab_cursor*) { return SQLITE_OK; }
  static int Eof(sqlite3_vtab_cursor*) { return 1; }
  static int Column(sqlite3_vtab_cursor*, sqlite3_context* ctx, int) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  static int Rowid(sqlite3_vtab_cursor*, sqlite3_int64* rowid) {
    *rowid = 0;
    return SQLITE_OK;
  }
  static const sqlite3_module& Module() {
    static const sqlite3_module module = [] {
      sqlite3_module m{};
      m.xCreate = nullptr;  // eponymous only: no CREATE VIRTUAL TABLE
      m.xConnect = Connect;
      m.xBestIndex = BestIndex;
      m.xDisconnect = Disconnect;
      m.xDestroy = Disconnect;
      m.xOpen = Open;
      m.xClose = Close;
      m.xFilter = Filter;
      m.xNext = Next;
      m.xEof = Eof;
      m.xColumn = Column;
      m.xRowid = Rowid;
      return m;
    }();
    return module;
  }
  // The module's destructor: the connection is being freed.
  static void Destroy(void* aux);

  sqlite3* db_;
  bool armed_ = false;  // the eponymous table is connected: closing will reach Disconnect
  sqlite3_stmt* statements_[kSqlCount] = {};
};

std::mutex registry_mu;
std::unordered_map<sqlite3*, StatementCache*>& Registry() {  // guarded by registry_mu
  static auto* registry = new std::unordered_map<sqlite3*, StatementCache*>();
  return *registry;
}

Result<StatementCache*> StatementCache::For(sqlite3* db) {
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    auto it = Registry().find(db);
    if (it != Registry().end()) return it->second;
  }
  auto* cache = new StatementCache(db);
  // On failure sqlite3_create_module_v2 calls Destroy itself, which deletes the cache.
  int rc = sqlite3_create_module_v2(db, kModuleName, &Module(), cache, &StatementCache::Destroy);
  if (rc != SQLITE_OK) return model::SqliteStatus(db, rc, "search: statement cache");
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    Registry()[db] = cache;
  }
  FIELDSYNC_RETURN_IF_ERROR(cache->Arm());
  return cache;
}

void StatementCache::Destroy(void* aux) {
  auto* cache = static_cast<StatementCache*>(aux);
  cache->FinalizeAll();  // already done by Disconnect; harmless
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    auto it = Registry().find(cache->db_);
    if (it != Registry().end() && it->second == cache) Registry().erase(it);
  }
  delete cache;
}

// A cached statement in use: bound, stepped, and reset and unbound when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // `text` must stay alive while the statement runs: it is bound without a copy.
  Status Bind(int i, std::string_view text) {
    int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
    return rc == SQLITE_OK ? Status::OK() : model::SqliteStatus(db_, rc, "search: bind");
  }
  Status Bind(int i, int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, i, value);
    return rc == SQLITE_OK ? Status::OK() : model::SqliteStatus(db_, rc, "search: bind");
  }
  // true for a row, false when done.
  Result<bool> Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return model::SqliteStatus(db_, rc, "search");
  }
  Status Run() {
    Result<bool> row = Step();
    while (row.ok() && *row) row = Step();
    return row.ok() ? Status::OK() : row.status();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  // Valid until the next Step().
  std::string_view Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr
               ? std::string_view()
               : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Runs a statement that returns no rows of interest, with `doc` and `text` as ?1 and ?2.
Status RunDocText(sqlite3* db, StatementCache& cache, Sql sql, int64_t doc, std::string_view text) {
  Result<sqlite3_stmt*> raw = cache.Get(sql);
  if (!raw.ok()) return raw.status();
  Stmt stmt(db, *raw);
  FIELDSYNC_RETURN_IF_ERROR(stmt.Bind(1, doc));
  if (!text.empty()) FIELDSYNC_RETURN_IF_ERROR(stmt.Bind(2, text));
  return stmt.Run();
}

Status RunPlain(sqlite3* db, StatementCache& cache, Sql sql) {
  Result<sqlite3_stmt*> raw = cache.Get(sql);
  if (!raw.ok()) return raw.status();
  return Stmt(db, *raw).Run();
}

// Makes an index update atomic (and a search read one snapshot) when the caller has no
// transaction open. Inside the caller's transaction nothing is added: the caller rolls back on
// error (text_index.h). A SAVEPOINT would be the obvious tool and is avoided on purpose: on
// SQLite 3.40, FTS5 flushes its pending terms to a new segment on every savepoint
// (fts5SavepointMethod → sqlite3Fts5StorageSync), which made each indexed record cost ~100 µs
// more in measurements, mostly in segment merges.
class AutoTransaction {
 public:
  AutoTransaction(sqlite3* db, StatementCache& cache) : db_(db), cache_(cache) {}
  ~AutoTransaction() {
    if (active_) (void)RunPlain(db_, cache_, kRollback);
  }
  AutoTransaction(const AutoTransaction&) = delete;
  AutoTransaction& operator=(const AutoTransaction&) = delete;

  Status Begin() {
    if (sqlite3_get_autocommit(db_) == 0) return Status::OK();  // the caller's transaction
    FIELDSYNC_RETURN_IF_ERROR(RunPlain(db_, cache_, kBegin));
    active_ = true;
    return Status::OK();
  }
  Status Commit() {
    if (!active_) return Status::OK();
    FIELDSYNC_RETURN_IF_ERROR(RunPlain(db_, cache_, kCommit));
    active_ = false;
    return Status::OK();
  }

 private:
  sqlite3* db_;
  StatementCache& cache_;
  bool active_ = false;
};

// Brings one FTS table's row `doc` from old_text to new_text ("" meaning no row). A delete and
// an insert, not one two-row INSERT: a statement writing several rows opens a statement
// journal, which is a savepoint to FTS5 (see AutoTransaction).
Status ReplaceFtsRow(sqlite3* db, StatementCache& cache, Sql delete_sql, Sql insert_sql,
                     int64_t doc, const std::string& old_text, const std::string& new_text) {
  if (old_text == new_text) return Status::OK();
  if (!old_text.empty()) {
    FIELDSYNC_RETURN_IF_ERROR(RunDocText(db, cache, delete_sql, doc, old_text));
  }
  if (!new_text.empty()) {
    FIELDSYNC_RETURN_IF_ERROR(RunDocText(db, cache, insert_sql, doc, new_text));
  }
  return Status::OK();
}

// Brings fs_search_tri's row `rowid` from `old_columns` to `new_columns` (all empty: no row).
Status ReplaceTrigramRow(sqlite3* db, StatementCache& cache, int64_t rowid,
                         const std::array<std::string, kTrigramColumns>& old_columns,
                         const std::array<std::string, kTrigramColumns>& new_columns) {
  if (old_columns == new_columns) return Status::OK();
  auto empty = [](const std::array<std::string, kTrigramColumns>& columns) {
    return std::all_of(columns.begin(), columns.end(),
                       [](const std::string& c) { return c.empty(); });
  };
  for (auto [sql, columns] : {std::make_pair(kTrigramDelete, &old_columns),
                              std::make_pair(kTrigramInsert, &new_columns)}) {
    if (empty(*columns)) continue;
    Result<sqlite3_stmt*> raw = cache.Get(sql);
    if (!raw.ok()) return raw.status();
    Stmt stmt(db, *raw);
    FIELDSYNC_RETURN_IF_ERROR(stmt.Bind(1, rowid));
    for (size_t i = 0; i < kTrigramColumns; ++i) {
      FIELDSYNC_RETURN_IF_ERROR(stmt.Bind(static_cast<int>(i) + 2, (*columns)[i]));
    }
    FIELDSYNC_RETURN_IF_ERROR(stmt.Run());
  }
  return Status::OK();
}

// Brings the FTS rows of record `doc` from what `old_payload` put there to what `new_payload`
// puts, touching only the fields that changed.
Status ReplaceFtsRows(sqlite3* db, StatementCache& cache, int64_t doc, std::string_view old_payload,
                      std::string_view new_payload) {
  const std::vector<std::string> old_slots = SplitSlots(old_payload);
  const std::vector<std::string> new_slots = SplitSlots(new_payload);
  const std::string none;
  for (size_t slot = 0; slot < std::max(old_slots.size(), new_slots.size()); ++slot) {
    const std::string& before = slot < old_slots.size() ? old_slots[slot] : none;
    const std::string& after = slot < new_slots.size() ? new_slots[slot] : none;
    if (before == after) continue;
    Result<FtsRow> old_row = MakeFtsRow(before);
    if (!old_row.ok()) return old_row.status();
    Result<FtsRow> new_row = MakeFtsRow(after);
    if (!new_row.ok()) return new_row.status();
    const int64_t rowid = doc * kSlots + static_cast<int64_t>(slot);
    FIELDSYNC_RETURN_IF_ERROR(
        ReplaceTrigramRow(db, cache, rowid, old_row->trigram, new_row->trigram));
    FIELDSYNC_RETURN_IF_ERROR(ReplaceFtsRow(db, cache, kShortDelete, kShortInsert, rowid,
                                            old_row->grams, new_row->grams));
  }
  return Status::OK();
}

Status CheckKey(sqlite3* db, std::string_view collection, std::string_view id) {
  if (db == nullptr) return Status::InvalidArgument("search: no database connection");
  FIELDSYNC_RETURN_IF_ERROR(CheckName(collection, "collection"));
  if (id.empty()) return Status::InvalidArgument("search: empty id");
  return Status::OK();
}

// ---- queries -------------------------------------------------------------------------------

enum class ShortKind {
  kNone,   // not a usable short form
  kWide,   // 1-2 non-ASCII letters (张伟)
  kAscii,  // 1-2 ASCII letters or digits (zw)
};

ShortKind ClassifyShort(std::string_view form, size_t code_points) {
  if (code_points == 0 || code_points > 2) return ShortKind::kNone;
  bool wide = true;
  bool ascii = true;
  ForEachCodePoint(form, [&](UChar32 c, size_t, size_t) {
    if (!IsWideWordChar(c)) wide = false;
    if (!IsAsciiAlnum(c)) ascii = false;
  });
  return ascii ? ShortKind::kAscii : wide ? ShortKind::kWide : ShortKind::kNone;
}

struct QueryForms {
  std::string text;
  size_t text_length = 0;  // code points
  ShortKind text_short = ShortKind::kNone;
  std::string compact;  // empty unless the query is ASCII
  size_t compact_length = 0;
  ShortKind compact_short = ShortKind::kNone;
  std::string digits;  // empty unless a phone fragment of at least 3 digits
};

QueryForms MakeForms(std::string folded) {
  QueryForms q;
  q.text = std::move(folded);
  q.text_length = CodePointCount(q.text);
  q.text_short = ClassifyShort(q.text, q.text_length);
  bool ascii = std::all_of(q.text.begin(), q.text.end(),
                           [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
  if (ascii) {
    for (char ch : q.text) {
      if (ch != ' ') q.compact.push_back(ch);
    }
    q.compact_length = q.compact.size();
    q.compact_short = ClassifyShort(q.compact, q.compact_length);
  }
  if (LooksLikePhone(q.text)) {
    for (char ch : q.text) {
      if (ch >= '0' && ch <= '9') q.digits.push_back(ch);
    }
    if (q.digits.size() < 3) q.digits.clear();
  }
  return q;
}

size_t FindAtWordStart(std::string_view value, std::string_view q) {
  for (size_t pos = value.find(q); pos != std::string_view::npos; pos = value.find(q, pos + 1)) {
    if (pos == 0 || !IsAsciiAlnum(static_cast<unsigned char>(value[pos - 1]))) return pos;
  }
  return std::string_view::npos;
}

// Where `item` matches the query (npos: it does not) and the query form it matched.
std::pair<size_t, size_t> MatchItem(const QueryForms& q, const Item& item) {
  constexpr size_t kNo = std::string_view::npos;
  const std::string_view v = item.value;
  switch (item.kind) {
    case kText:
      if (q.text_length >= 3 || q.text_short == ShortKind::kWide) {
        return {v.find(q.text), q.text.size()};
      }
      if (q.text_short == ShortKind::kAscii) return {FindAtWordStart(v, q.text), q.text.size()};
      return {kNo, 0};
    case kPinyin:
      if (q.compact_length >= 3) return {v.find(q.compact), q.compact.size()};
      if (q.compact_short == ShortKind::kAscii) {
        return {v.compare(0, q.compact.size(), q.compact) == 0 ? 0 : kNo, q.compact.size()};
      }
      return {kNo, 0};
    case kInitials:
      if (q.compact_length == 1 && q.compact_short == ShortKind::kAscii) {
        return {v.compare(0, 1, q.compact) == 0 ? 0 : kNo, 1};
      }
      if (q.compact_length >= 2 &&
          (q.compact_length >= 3 || q.compact_short == ShortKind::kAscii)) {
        return {v.find(q.compact), q.compact.size()};
      }
      return {kNo, 0};
    case kDigits:
      if (!q.digits.empty()) return {v.find(q.digits), q.digits.size()};
      return {kNo, 0};
    default:
      return {kNo, 0};
  }
}

bool FieldContains(std::string_view field, std::string_view part) {
  return field.find(part) != std::string_view::npos;
}

int Weight(const Item& item) {
  const bool name = item.field == "name";
  switch (item.kind) {
    case kPinyin:
      return name ? 45 : 40;
    case kInitials:
      return name ? 35 : 30;
    case kDigits:
      return 20;
    default:
      break;
  }
  if (name) return 60;
  if (FieldContains(item.field, "mail")) return 10;
  if (FieldContains(item.field, "phone") || FieldContains(item.field, "mobile") ||
      FieldContains(item.field, "tel") || FieldContains(item.field, "fax")) {
    return 20;
  }
  return 50;
}

// The record's best score and the field it came from; score 0 when nothing matches.
Result<std::pair<double, std::string_view>> ScorePayload(const QueryForms& q,
                                                         std::string_view payload) {
  double best = 0;
  std::string_view best_field;
  // Pinyin is derived only for queries that could match it (ASCII ones).
  Status s = ForEachForm(payload, !q.compact.empty(), [&](const Item& item) {
    auto [pos, length] = MatchItem(q, item);
    if (pos == std::string_view::npos || item.value.empty()) return;
    int match_class = pos != 0 ? 1 : length == item.value.size() ? 3 : 2;
    double score = 100.0 * match_class + Weight(item) +
                   static_cast<double>(length) / static_cast<double>(item.value.size());
    if (score > best) {
      best = score;
      best_field = item.field;
    }
  });
  if (!s.ok()) return s;
  return std::make_pair(best, best_field);
}

void AppendQuoted(std::string& expr, std::string_view token) {
  expr.push_back('"');
  for (char ch : token) {
    if (ch == '"') expr.push_back('"');
    expr.push_back(ch);
  }
  expr.push_back('"');
}

// FTS5 expression for `form`: n-grams that cover it, ANDed (trigrams on fs_search_tri, bigrams
// on fs_search_short). Only n-grams starting every n characters, plus the last one: detail=none
// cannot check adjacency anyway, and each n-gram costs a doclist read, which for one found in
// most records ("exa" of every example.com address) is the main cost of a query. Verification
// does the exact check.
std::string NgramGroup(std::string_view form, size_t n) {
  std::vector<size_t> starts;
  ForEachCodePoint(form, [&starts](UChar32, size_t start, size_t) { starts.push_back(start); });
  starts.push_back(form.size());
  const size_t count = starts.size() - 1;  // code points
  std::vector<size_t> picks;
  for (size_t i = 0; i + n <= count && picks.size() < kMaxGramsPerForm; i += n) picks.push_back(i);
  if (count >= n && picks.back() != count - n) picks.push_back(count - n);
  std::vector<std::string_view> grams;
  for (size_t i : picks) {
    std::string_view gram = form.substr(starts[i], starts[i + n] - starts[i]);
    if (std::find(grams.begin(), grams.end(), gram) == grams.end()) grams.push_back(gram);
  }
  std::string expr = "(";
  for (size_t i = 0; i < grams.size(); ++i) {
    if (i > 0) expr += " AND ";
    AppendQuoted(expr, grams[i]);
  }
  return expr + ")";
}

void AddAlternative(std::string& expr, std::vector<std::string_view>& seen, std::string_view form,
                    const std::string& term) {
  if (std::find(seen.begin(), seen.end(), form) != seen.end()) return;
  seen.push_back(form);
  if (!expr.empty()) expr += " OR ";
  expr += term;
}

struct Ranked {
  double score;
  std::string collection;
  std::string id;
  std::string field;
};

// Best first: higher score, then id, then collection.
bool Better(double score_a, std::string_view id_a, std::string_view collection_a, double score_b,
            std::string_view id_b, std::string_view collection_b) {
  if (score_a != score_b) return score_a > score_b;
  if (id_a != id_b) return id_a < id_b;
  return collection_a < collection_b;
}

}  // namespace

Status CreateSearchTables(sqlite3* db) {
  if (db == nullptr) return Status::InvalidArgument("search: no database connection");
  Result<StatementCache*> cache = StatementCache::For(db);
  if (!cache.ok()) return cache.status();
  AutoTransaction transaction(db, **cache);
  FIELDSYNC_RETURN_IF_ERROR(transaction.Begin());
  bool exists = false;
  int rc = sqlite3_exec(
      db, "SELECT 1 FROM sqlite_schema WHERE name = 'fs_search_tri'",
      [](void* found, int, char**, char**) {
        *static_cast<bool*>(found) = true;
        return 0;
      },
      &exists, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, kCreateSql, nullptr, nullptr, nullptr);
  // FTS5 merges a level's segments once 4 of them exist (automerge); 8 cut index writes by
  // about a tenth in measurements, for a few more segments to read per query term.
  if (rc == SQLITE_OK && !exists) {
    rc = sqlite3_exec(db,
                      "INSERT INTO fs_search_tri(fs_search_tri, rank) VALUES('automerge', 8);"
                      "INSERT INTO fs_search_short(fs_search_short, rank) VALUES('automerge', 8)",
                      nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) return model::SqliteStatus(db, rc, "search: create tables");
  return transaction.Commit();
}

Status IndexRecord(sqlite3* db, std::string_view collection, std::string_view id,
                   const std::vector<IndexEntry>& entries) {
  FIELDSYNC_RETURN_IF_ERROR(CheckKey(db, collection, id));
  Result<std::string> payload = BuildPayload(entries);
  if (!payload.ok()) return payload.status();
  Result<StatementCache*> cache_or = StatementCache::For(db);
  if (!cache_or.ok()) return cache_or.status();
  StatementCache& cache = **cache_or;

  AutoTransaction transaction(db, cache);
  FIELDSYNC_RETURN_IF_ERROR(transaction.Begin());
  bool found = false;
  int64_t doc = 0;
  std::string old_payload;
  {
    Result<sqlite3_stmt*> raw = cache.Get(kFindDoc);
    if (!raw.ok()) return raw.status();
    Stmt find(db, *raw);
    FIELDSYNC_RETURN_IF_ERROR(find.Bind(1, ShortName(collection)));
    FIELDSYNC_RETURN_IF_ERROR(find.Bind(2, id));
    Result<bool> row = find.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      found = true;
      doc = find.Int(0);
      old_payload = std::string(find.Text(1));
    }
  }
  if (found && old_payload == *payload) return transaction.Commit();  // unchanged: no writes
  if (!found && payload->empty()) return transaction.Commit();

  if (!found) {
    Result<sqlite3_stmt*> raw = cache.Get(kInsertDoc);
    if (!raw.ok()) return raw.status();
    Stmt insert(db, *raw);
    FIELDSYNC_RETURN_IF_ERROR(insert.Bind(1, ShortName(collection)));
    FIELDSYNC_RETURN_IF_ERROR(insert.Bind(2, id));
    FIELDSYNC_RETURN_IF_ERROR(insert.Bind(3, *payload));
    FIELDSYNC_RETURN_IF_ERROR(insert.Run());
    doc = sqlite3_last_insert_rowid(db);
  } else if (payload->empty()) {
    FIELDSYNC_RETURN_IF_ERROR(RunDocText(db, cache, kDeleteDoc, doc, ""));
  } else {
    FIELDSYNC_RETURN_IF_ERROR(RunDocText(db, cache, kUpdateDoc, doc, *payload));
  }
  FIELDSYNC_RETURN_IF_ERROR(ReplaceFtsRows(db, cache, doc, old_payload, *payload));
  return transaction.Commit();
}

Status RemoveRecord(sqlite3* db, std::string_view collection, std::string_view id) {
  FIELDSYNC_RETURN_IF_ERROR(CheckKey(db, collection, id));
  Result<StatementCache*> cache_or = StatementCache::For(db);
  if (!cache_or.ok()) return cache_or.status();
  StatementCache& cache = **cache_or;

  AutoTransaction transaction(db, cache);
  FIELDSYNC_RETURN_IF_ERROR(transaction.Begin());
  bool found = false;
  int64_t doc = 0;
  std::string old_payload;
  {
    Result<sqlite3_stmt*> raw = cache.Get(kRemoveDoc);
    if (!raw.ok()) return raw.status();
    Stmt remove(db, *raw);
    FIELDSYNC_RETURN_IF_ERROR(remove.Bind(1, ShortName(collection)));
    FIELDSYNC_RETURN_IF_ERROR(remove.Bind(2, id));
    Result<bool> row = remove.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      found = true;
      doc = remove.Int(0);
      old_payload = std::string(remove.Text(1));
    }
    FIELDSYNC_RETURN_IF_ERROR(remove.Run());
  }
  if (found) FIELDSYNC_RETURN_IF_ERROR(ReplaceFtsRows(db, cache, doc, old_payload, ""));
  return transaction.Commit();
}

Result<std::vector<IndexHit>> SearchIndex(sqlite3* db, std::string_view query, int limit) {
  if (db == nullptr) return Status::InvalidArgument("search: no database connection");
  std::vector<IndexHit> hits;
  if (limit <= 0) return hits;
  Result<std::string> folded = FoldText(query);
  if (!folded.ok()) return folded.status();
  if (folded->empty()) return hits;
  const QueryForms q = MakeForms(std::move(*folded));

  // Candidates: forms of 3+ characters through their trigrams, or their 2-character grams when
  // made of wide letters only (see TrigramText); shorter forms through their gram.
  std::string trigram_expr;
  std::string short_expr;
  std::vector<std::string_view> seen_long;
  std::vector<std::string_view> seen_short;
  auto add_form = [&](const std::string& form, size_t length, ShortKind short_kind) {
    if (form.empty()) return;
    if (length >= 3 && AllWide(form)) {
      AddAlternative(short_expr, seen_short, form, NgramGroup(form, 2));
    } else if (length >= 3) {
      AddAlternative(trigram_expr, seen_long, form, NgramGroup(form, 3));
    } else if (short_kind != ShortKind::kNone) {
      std::string term;
      AppendQuoted(term, form);
      AddAlternative(short_expr, seen_short, form, term);
    }
  };
  add_form(q.text, q.text_length, q.text_short);
  add_form(q.compact, q.compact_length, q.compact_short);
  add_form(q.digits, q.digits.size(), ShortKind::kNone);
  if (trigram_expr.empty() && short_expr.empty()) return hits;

  // Records equal to one of the forms, by their ExactToken.
  std::string exact_expr;
  std::vector<std::string_view> seen_exact;
  for (const std::string* form : {&q.text, &q.compact, &q.digits}) {
    if (form->empty()) continue;
    std::string term;
    AppendQuoted(term, ExactToken(*form));
    AddAlternative(exact_expr, seen_exact, *form, term);
  }

  Result<StatementCache*> cache = StatementCache::For(db);
  if (!cache.ok()) return cache.status();

  // The best `limit` records in a heap whose front is the worst of them.
  std::vector<Ranked> heap;
  auto worse_first = [](const Ranked& a, const Ranked& b) {
    return Better(a.score, a.id, a.collection, b.score, b.id, b.collection);
  };
  const auto capacity = static_cast<size_t>(limit);
  std::vector<int64_t> exact_docs;  // verified in the first pass; skipped in the second
  auto verify = [&](Sql sql, const std::string& tri, const std::string& grams,
                    bool first_pass) -> Status {
    Result<sqlite3_stmt*> raw = (*cache)->Get(sql);
    if (!raw.ok()) return raw.status();
    Stmt select(db, *raw);
    if (!tri.empty()) FIELDSYNC_RETURN_IF_ERROR(select.Bind(1, tri));
    if (!grams.empty()) FIELDSYNC_RETURN_IF_ERROR(select.Bind(2, grams));
    FIELDSYNC_RETURN_IF_ERROR(select.Bind(3, kMaxCandidates));
    int64_t previous_doc = -1;
    for (;;) {
      Result<bool> row = select.Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::OK();
      const int64_t doc = select.Int(0);
      if (doc == previous_doc) continue;  // the same record, matched in another field
      previous_doc = doc;
      if (first_pass) {
        exact_docs.push_back(doc);
      } else if (std::binary_search(exact_docs.begin(), exact_docs.end(), doc)) {
        continue;
      }
      Result<std::pair<double, std::string_view>> scored = ScorePayload(q, select.Text(3));
      if (!scored.ok()) return scored.status();
      auto [score, field] = *scored;
      if (score <= 0) continue;
      std::string_view collection = FullName(select.Text(1));
      std::string_view id = select.Text(2);
      if (heap.size() == capacity) {
        const Ranked& worst = heap.front();
        if (!Better(score, id, collection, worst.score, worst.id, worst.collection)) continue;
        std::pop_heap(heap.begin(), heap.end(), worse_first);
        heap.pop_back();
      }
      heap.push_back(Ranked{score, std::string(collection), std::string(id), std::string(field)});
      std::push_heap(heap.begin(), heap.end(), worse_first);
    }
  };
  // Both passes read one snapshot: a write committed between them could otherwise move a
  // record from one pass's view to the other's.
  AutoTransaction snapshot(db, **cache);
  FIELDSYNC_RETURN_IF_ERROR(snapshot.Begin());
  FIELDSYNC_RETURN_IF_ERROR(verify(kSearchShort, "", exact_expr, /*first_pass=*/true));
  std::sort(exact_docs.begin(), exact_docs.end());
  FIELDSYNC_RETURN_IF_ERROR(verify(short_expr.empty()     ? kSearchTrigram
                                   : trigram_expr.empty() ? kSearchShort
                                                          : kSearchBoth,
                                   trigram_expr, short_expr, /*first_pass=*/false));
  FIELDSYNC_RETURN_IF_ERROR(snapshot.Commit());
  std::sort_heap(heap.begin(), heap.end(), worse_first);
  hits.reserve(heap.size());
  for (Ranked& r : heap) {
    hits.push_back(IndexHit{std::move(r.collection), std::move(r.id), std::move(r.field), r.score});
  }
  return hits;
}

Status CompactSearchIndex(sqlite3* db) {
  for (const char* sql : {"INSERT INTO fs_search_tri(fs_search_tri) VALUES ('optimize')",
                          "INSERT INTO fs_search_short(fs_search_short) VALUES ('optimize')"}) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
    sqlite3_free(error);
    if (rc != SQLITE_OK) return model::SqliteStatus(db, rc, "compact search index");
  }
  return Status::OK();
}

}  // namespace fieldsync::search
