// tools/cli/json_output.cc: SQL values, store info, verify reports, search hits and the outbox
// summary, sync progress and conflicts as JSON (see json_output.h).
#include "json_output.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <type_traits>
#include <variant>

#include "fieldsync/key_provider.h"

namespace fieldsync::cli {
namespace {

std::string HexEncode(const Blob& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

}  // namespace

Json ValueToJson(const Value& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return v;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(v)) return nullptr;  // JSON has no infinity (SQLite has no NaN)
          return v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else {
          static_assert(std::is_same_v<T, Blob>);
          Json blob = Json::object();
          blob["blob_hex"] = HexEncode(v);
          return blob;
        }
      },
      value);
}

Json RowToJson(const Row& row) {
  Json array = Json::array();
  for (const Value& value : row.values) array.push_back(ValueToJson(value));
  return array;
}

Json StoreInfoToJson(const StoreInfo& info) {
  Json kdf = Json::object();
  kdf["name"] = KekKindName(info.kek.kind);
  if (info.kek.kind == KekKind::kPassphraseScrypt) {
    kdf["n"] = info.kek.scrypt_n;
    kdf["r"] = info.kek.scrypt_r;
    kdf["p"] = info.kek.scrypt_p;
  }
  // info.kek.salt is deliberately absent. It is not secret, but keeping every key-derivation
  // input other than the cost out of `info` means its output can be pasted into a ticket or a log
  // without a second thought.
  Json json = Json::object();
  json["format_version"] = info.format_version;
  json["cipher"] = info.cipher;
  json["page_size"] = info.page_size;
  json["reserve_bytes"] = info.reserve_bytes;
  json["page_count"] = info.page_count;
  json["wal_bytes"] = info.wal_bytes;
  json["database_id"] = info.database_id;
  json["data_key_id"] = info.data_key_id;
  json["key_generation"] = info.key_generation;
  json["kdf"] = std::move(kdf);
  return json;
}

Json VerifyReportToJson(const VerifyReport& report) {
  Json json = Json::object();
  json["pages_authenticated"] = report.pages_authenticated;
  json["wal_frames_authenticated"] = report.wal_frames_authenticated;
  if (report.integrity_errors.empty()) {
    json["integrity"] = "ok";
  } else {
    json["integrity"] = "failed";
    json["integrity_errors"] = report.integrity_errors;
  }
  return json;
}

Json SearchHitToJson(const SearchHit& hit) {
  Json json = Json::object();
  json["collection"] = hit.collection;
  json["id"] = hit.id;
  json["field"] = hit.field;
  json["score"] = hit.score;
  json["record"] = ParseCoreJson(hit.record_json);
  return json;
}

Json PendingSummaryToJson(const PendingSummary& pending) {
  Json json = Json::object();
  json["count"] = pending.count;
  json["oldest_age_s"] = pending.oldest_age_s;
  return json;
}

Json ParseCoreJson(const std::string& text) { return Json::parse(text); }

std::string DumpLine(const Json& json) {
  try {
    return json.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::type_error&) {
    // Some TEXT value is not valid UTF-8 (SQLite does not enforce encoding). Print what can be
    // printed rather than nothing.
    return json.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  }
}

bool PrintJsonLine(const Json& json) {
  std::cout << DumpLine(json) << '\n';
  return static_cast<bool>(std::cout);
}

Json SyncProgressToJson(const sync::SyncProgress& progress, int64_t pending_after) {
  Json j = Json::object();
  j["changes_pushed"] = progress.changes_pushed;
  j["changes_refused"] = progress.changes_refused;
  j["changes_pulled"] = progress.changes_pulled;
  j["bytes_sent"] = progress.bytes_sent;
  j["bytes_received"] = progress.bytes_received;
  j["pending_after"] = pending_after;
  return j;
}

namespace {

// "2026-11-23T06:39:31.123Z": the HLC's physical time in UTC, to the millisecond.
std::string IsoTime(Hlc hlc) {
  const uint64_t ms = hlc.physical_ms();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03u", static_cast<unsigned>(ms % 1000));
  return std::string(date) + millis + "Z";
}

}  // namespace

Json ConflictToJson(const sync::Conflict& conflict) {
  Json heads = Json::array();
  for (const sync::RegisterValue& head : conflict.heads) {
    Json h = Json::object();
    h["value"] = Json::parse(head.value.dump());  // nlohmann::json -> ordered_json
    h["author"] = head.author;
    h["node"] = head.version.node;
    h["time"] = IsoTime(head.version.hlc);
    h["hlc"] = head.version.hlc.packed();
    heads.push_back(std::move(h));
  }
  Json j = Json::object();
  j["id"] = conflict.id;
  j["collection"] = conflict.collection;
  j["record_id"] = conflict.record_id;
  j["field"] = conflict.field;
  j["heads"] = std::move(heads);
  return j;
}

}  // namespace fieldsync::cli
