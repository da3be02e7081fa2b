// search/text_index.h: the offline search index over customers and contacts.
//
// Reps search by any fragment of a name, company, phone or email. The index makes these match:
//   - any substring, including two-character Chinese names (张伟), which SQLite's FTS5 trigram
//     tokenizer cannot find on its own (it needs three characters);
//   - simplified and traditional forms of the same characters (客户 / 客戶);
//   - pinyin of Chinese text, in full or by initials (zhangwei, zw → 张伟), through ICU;
//   - partial phone numbers (digits of the E.164 and national forms) and email fragments.
// Text is folded (NFKC, case-folded, traditional to simplified) on the way in and for queries.
// Results are ranked: exact over prefix over substring, name over company over the rest.
//
// The index lives in the caller's SQLite database; Index and Remove run inside the caller's
// transaction, so the index commits atomically with the record.
//
// Thread safety: the functions are thread-safe; each call uses only the given connection.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/status.h"

namespace fieldsync::search {

struct IndexEntry {
  std::string field;  // e.g. "name", "company", "phones", "emails"
  std::string text;   // the stored (normalized) value; one entry per value of repeated fields
};

struct IndexHit {
  std::string collection;
  std::string id;
  std::string field;  // the best-matching field
  double score = 0;   // higher is better
};

// Creates the index tables if missing.
Status CreateSearchTables(sqlite3* db);
// Replaces whatever the index held for (collection, id) with `entries`.
Status IndexRecord(sqlite3* db, std::string_view collection, std::string_view id,
                   const std::vector<IndexEntry>& entries);
Status RemoveRecord(sqlite3* db, std::string_view collection, std::string_view id);
// Rewrites the index so that deleted records leave no trace in it: FTS5 keeps deleted tokens in
// older segments until they are merged. Costs a rewrite of the whole index; for purge.
Status CompactSearchIndex(sqlite3* db);
// At most `limit` hits, best first. An empty or whitespace query returns no hits.
Result<std::vector<IndexHit>> SearchIndex(sqlite3* db, std::string_view query, int limit);

}  // namespace fieldsync::search
