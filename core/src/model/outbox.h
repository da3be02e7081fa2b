// model/outbox.h: the durable, ordered queue of local changes waiting for the sync layer.
//
// Every local write appends a change in the same transaction as the record, so a committed edit
// is always queued. A change carries an idempotency id (change_id), the collection, record id
// and operation, the changed fields with their HLC versions, this node's id and the schema
// version it was made under. An upsert merges into the record's pending (not yet sent) upsert:
// later values of a field replace earlier ones, which is what the server would keep anyway, and
// no field is ever dropped. Deletes and re-creations (a Put over a tombstone) are never merged
// into an earlier row, so a re-creation always keeps its own row and flag; later updates may
// merge into it. Rows being sent are never changed.
//
// Thread safety: called under the database's write lock, on the writer connection.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "fieldsync/database.h"
#include "model/sql.h"

namespace fieldsync::model {

struct Change {
  std::string collection;
  std::string record_id;
  bool is_delete = false;
  bool recreate = false;  // a put over a tombstone: the record starts anew
  nlohmann::json fields = nlohmann::json::object();  // {"field": {"v": value, "hlc": n}}
  std::string node;
  int schema_version = 1;
  int64_t now_ms = 0;
  std::string change_id;  // used only when a new row is appended
};

Status AppendChange(StatementCache& sql, const Change& change);
Result<PendingSummary> SummarizePending(StatementCache& sql, int64_t now_ms);
// Number of unsent or in-flight changes of one record.
Result<int64_t> UnsentChangesOf(StatementCache& sql, const std::string& collection,
                                const std::string& record_id);
Result<std::vector<DeadLetter>> ListDeadLetters(StatementCache& sql);

}  // namespace fieldsync::model
