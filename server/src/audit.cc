// server/src/audit.cc: the audit row's printed form (audit.h).
#include "audit.h"

#include <cstdio>

#include "fieldsync/calendar.h"

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
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 (RFC 3629).
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
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
