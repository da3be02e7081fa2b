// tools/cli/json_output.h: the JSON that fieldsync-cli prints on stdout, one document per line.
//
// Mapping of SQL values (the `sql` command prints each row as one JSON array):
//   NULL -> null, INTEGER -> number, REAL -> number (non-finite values print as null, since JSON
//   has no infinity), TEXT -> string, BLOB -> {"blob_hex":"<lowercase hex>"}.
// Output is UTF-8 and not \u-escaped, so 客户 prints as itself. A TEXT value that is not valid
// UTF-8 is printed with each invalid byte sequence replaced by U+FFFD rather than failing.
// Objects keep the key order in which they were built (ordered_json), so output is stable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "fieldsync/database.h"
#include "fieldsync/store.h"
#include "fieldsync/sync/merge.h"
#include "fieldsync/sync/replicator.h"

namespace fieldsync::cli {

using Json = nlohmann::ordered_json;

Json ValueToJson(const Value& value);
Json RowToJson(const Row& row);

// The `info` object: header facts only, never the salt or anything secret.
Json StoreInfoToJson(const StoreInfo& info);

// The `verify` object: counts, and "integrity":"ok" or "integrity":"failed" plus
// "integrity_errors":[...].
Json VerifyReportToJson(const VerifyReport& report);

// A search hit: {"collection":...,"id":...,"field":...,"score":...,"record":{...}}, the record
// as an object (not a string) so `jq .record.name` works.
Json SearchHitToJson(const SearchHit& hit);

// The `pending` object: {"count":N,"oldest_age_s":S}.
Json PendingSummaryToJson(const PendingSummary& pending);

// The `sync` object: {"changes_pushed":N,"changes_refused":N,"changes_pulled":N,"bytes_sent":N,
// "bytes_received":N,"pending_after":N}; pending_after is the outbox count after the round.
Json SyncProgressToJson(const sync::SyncProgress& progress, int64_t pending_after);

// A `conflicts` line: {"id":...,"collection":...,"record_id":...,"field":...,"heads":[{"value":...,
// "author":...,"node":...,"time":"2026-11-23T06:39:31.123Z","hlc":<packed HLC>}, ...]}, the shown
// value first. time is the HLC's physical part in UTC.
Json ConflictToJson(const sync::Conflict& conflict);

// JSON text produced by core (records, timelines, agendas), keeping its key order. Throws
// nlohmann::json::parse_error if core ever produced something else; main() reports it.
Json ParseCoreJson(const std::string& text);

// Compact single-line UTF-8 text of `json` (strict; invalid UTF-8 replaced by U+FFFD).
std::string DumpLine(const Json& json);

// Writes DumpLine(json) and a newline to stdout. Returns false once stdout has failed.
bool PrintJsonLine(const Json& json);

}  // namespace fieldsync::cli
