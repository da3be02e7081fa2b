// query/queries.h: the rep's offline questions, answered from fs_records (see model/tables.h).
//
// Timeline: a customer's visits, orders and contacts, most recent first.
// Agenda: for one rep, next actions due today or overdue, and the rep's customers not contacted
// within the cadence of their grade (A weekly, B two-weekly, C monthly, D quarterly; E never).
// Classification: ABC class by trailing-12-month order amount (Pareto shares), a lifecycle
// suggestion (new, active, silent, lost) by recency, and RFM scores (1-5 each) per customer.
// All results are JSON text, with field names from docs/schema.md. "now" is passed in (ms since
// the epoch, UTC) so tests and skewed clocks are explicit.
//
// Thread safety: the functions use only the given connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fieldsync/database.h"
#include "fieldsync/status.h"

namespace fieldsync::query {

// Creates the expression indexes the queries rely on (idempotent).
Status CreateQueryIndexes(sqlite3* db);

// [{"kind":"visit"|"order"|"contact","id":...,"at":...,"record":{...}}, ...]
Result<std::string> Timeline(sqlite3* db, std::string_view customer_id);
// {"rep":...,"today":"YYYY-MM-DD","due":[...],"overdue":[...],"not_contacted":[...]}
Result<std::string> Agenda(sqlite3* db, std::string_view rep, int64_t now_ms,
                           const AgendaOptions& options);
// [{"customer":id,"name":...,"abc":"A","lifecycle":"active","rfm":{"r":5,"f":3,"m":4}}, ...]
Result<std::string> Classify(sqlite3* db, int64_t now_ms, const ClassificationOptions& options);

}  // namespace fieldsync::query
