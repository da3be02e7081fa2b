// server/src/audit.cc: the audit row's printed form (audit.h).
#include "audit.h"

#include <cstdio>

#include "fieldsync/calendar.h"
#include "text/utf8.h"

namespace fieldsync::server {

std::string UtcTimeMs(int64_t ms) {
  const int64_t days = calendar::FloorDiv(ms, 86400000);
  const int64_t in_day = ms - days * 86400000;
  char time[32];
  std::snprintf(time, sizeof time, "T%02d:%02d:%02d.%03dZ", static_cast<int>(in_day / 3600000),
                static_cast<int>(in_day / 60000 % 60), static_cast<int>(in_day / 1000 % 60),
                static_cast<int>(in_day % 1000));
  return calendar::FormatDate(days) + time;
}

bool IsUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    size_t consumed = 0;
    if (text::DecodeUtf8(text, i, &cp, &consumed) == 0) return false;
    i += consumed;
  }
  return true;
}

nlohmann::ordered_json AuditRowToJson(const AuditRow& row) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["seq"] = row.seq;
  j["time"] = UtcTimeMs(row.at_ms);
  j["time_ms"] = row.at_ms;
  j["user"] = row.user;
  j["device"] = row.device;
  j["action"] = row.action;
  j["collection"] = row.collection;
  j["record_id"] = row.record_id;
  j["fields"] = row.fields;
  j["change_id"] = row.change_id;
  // Written by this server as JSON; anything else (a hand-edited file) is shown as text.
  nlohmann::ordered_json detail = nlohmann::ordered_json::parse(row.detail_json, nullptr, false);
  j["detail"] = detail.is_discarded() ? nlohmann::ordered_json(row.detail_json) : detail;
  return j;
}

std::string AuditLine(const AuditRow& row) {
  return AuditRowToJson(row).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace fieldsync::server
