// tools/cli/commands.cc: the handlers of fieldsync-cli's commands and the table naming them.
//
// Each handler gets its positional arguments, already counted by main.cc, reads any key it needs
// from the environment (env_key.h, env_options.h), does one operation, prints its result on stdout
// (JSON, one document per line) and returns the exit code. Failures are reported through report.h.
// Environment problems are checked before the database is touched, so a usage error never leaves
// a half-done operation behind.
//
// Two layers are used. The maintenance commands (sql, verify, passwd, rekey, info, destroy) work
// on the encrypted Store, so they also serve a file made by plain Store::Create. init and the
// record commands (put, get, search, timeline, agenda, pending) use the field-sales Database:
// init creates its tables and node id at once, and Database::Open adds them to a plain store.
// Record commands report invalid_argument with exit 6 (ReportRecordError).
//
// sync, conflicts and resolve use the sync layer (fieldsync::sync) on the same Database. sync runs
// one Replicator::SyncOnce round over libcurl, with the server credentials from FIELDSYNC_USER and
// FIELDSYNC_PASSWORD. conflicts reads the per-record merge states the replicator keeps (so it
// shows the conflicts as of the last sync). resolve is a plain local Update of the conflicted
// field: when the replicator first sends it, it gives it as review base every head of the field
// as this tablet knows them (merge state plus earlier unsent edits, replicator.cc Freeze), and an
// edit whose base names all heads replaces them (merge.h): the conflict closes on every replica
// once the resolution is synced.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "command.h"
#include "env_key.h"
#include "env_options.h"
#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/store.h"
#include "fieldsync/sync/merge.h"
#include "fieldsync/sync/replicator.h"
#include "json_output.h"
#include "report.h"

namespace fieldsync::cli {
namespace {

// Hits printed by search: a screenful, Database::Search's default.
constexpr int kSearchLimit = 20;

// The database at `path` opened as a Database with the key and options from the environment, or
// null after reporting why not; *exit_code is then the code to return.
std::unique_ptr<Database> OpenDatabase(const Command& self, const std::string& path,
                                       int* exit_code) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) {
    *exit_code = ReportUsage(key.problem, Synopsis(self));
    return nullptr;
  }
  EnvOptions env = DatabaseOptionsFromEnvironment();
  if (!env.problem.empty()) {
    *exit_code = ReportUsage(env.problem, Synopsis(self));
    return nullptr;
  }
  Result<std::unique_ptr<Database>> db = Database::Open(path, *key.provider, env.options);
  if (!db.ok()) {
    *exit_code = ReportError(db.status());
    return nullptr;
  }
  return std::move(*db);
}

// init DB: creates an encrypted field-sales database (tables and node id included). Prints
// nothing on success.
int RunInit(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  EnvOptions env = DatabaseOptionsFromEnvironment();
  if (!env.problem.empty()) return ReportUsage(env.problem, Synopsis(self));
  Result<std::unique_ptr<Database>> db = Database::Create(args[0], *key.provider, env.options);
  if (!db.ok()) return ReportError(db.status());
  return kExitOk;
}

// sql DB "SQL": runs the statements; prints each result row as one JSON array per line.
int RunSql(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  Result<std::unique_ptr<Store>> store = Store::Open(args[0], *key.provider);
  if (!store.ok()) return ReportError(store.status());
  // Rows are printed as they arrive, so a large result never sits in memory. If stdout fails the
  // callback stops the query; FinishOutput() then reports the I/O error.
  Status status =
      (*store)->Execute(args[1], {}, [](const Row& row) { return PrintJsonLine(RowToJson(row)); });
  if (!status.ok()) {
    std::cout.flush();  // the rows before the failing statement are still results
    return ReportError(status);
  }
  return FinishOutput();
}

// verify DB: authenticates every page and WAL frame, then runs integrity_check.
int RunVerify(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  Result<std::unique_ptr<Store>> store = Store::Open(args[0], *key.provider);
  if (!store.ok()) return ReportError(store.status());
  Result<VerifyReport> report = (*store)->Verify();
  if (!report.ok()) return ReportError(report.status());
  PrintJsonLine(VerifyReportToJson(*report));
  const int output = FinishOutput();
  if (output != kExitOk) return output;
  if (!report->integrity_errors.empty()) {
    return ReportError(Status::Corruption("integrity_check found " +
                                          std::to_string(report->integrity_errors.size()) +
                                          " problem(s)"));
  }
  return kExitOk;
}

// passwd DB: rewraps the data key under FIELDSYNC_NEW_PASSPHRASE (header only, fast).
int RunPasswd(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  EnvKey new_key = NewPassphraseFromEnvironment(/*required=*/true);
  if (!new_key.provider) return ReportUsage(new_key.problem, Synopsis(self));
  Result<std::unique_ptr<Store>> store = Store::Open(args[0], *key.provider);
  if (!store.ok()) return ReportError(store.status());
  Status status = (*store)->ChangeKey(*new_key.provider);
  if (!status.ok()) return ReportError(status);
  return kExitOk;
}

// rekey DB: new data key, every page re-encrypted; also switches to FIELDSYNC_NEW_PASSPHRASE
// when it is set.
int RunRekey(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  EnvKey new_key = NewPassphraseFromEnvironment(/*required=*/false);
  if (!new_key.problem.empty()) return ReportUsage(new_key.problem, Synopsis(self));
  Result<std::unique_ptr<Store>> store = Store::Open(args[0], *key.provider);
  if (!store.ok()) return ReportError(store.status());
  Status status = (*store)->RotateDataKey(new_key.provider.get());
  if (!status.ok()) return ReportError(status);
  return kExitOk;
}

// info DB: the header's non-secret facts, without opening the database (no key needed).
int RunInfo(const Command& /*self*/, const Args& args) {
  Result<StoreInfo> info = Store::ReadInfo(args[0]);
  if (!info.ok()) return ReportError(info.status());
  PrintJsonLine(StoreInfoToJson(*info));
  return FinishOutput();
}

// destroy DB: shreds the wrapped key, then deletes the database and its companion files.
int RunDestroy(const Command& /*self*/, const Args& args) {
  Status status = Store::Destroy(args[0]);
  if (!status.ok()) return ReportError(status);
  return kExitOk;
}

// put DB COLLECTION JSON: validates, normalizes and stores a new record; prints its id alone.
int RunPut(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::string> id = db->Put(args[1], args[2]);
  if (!id.ok()) return ReportRecordError(id.status());
  std::cout << *id << '\n';
  return FinishOutput();
}

// get DB COLLECTION ID: prints the record as one JSON object, with its "id".
int RunGet(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  // Database::Get answers not_found for a collection it does not know; a misspelled collection
  // is a mistake in the input, as it is for put.
  if (db->schema().Collection(args[1]) == nullptr) {
    return ReportRecordError(Status::InvalidArgument("unknown collection '" + args[1] + "'"));
  }
  Result<std::string> record = db->Get(args[1], args[2]);
  if (!record.ok()) return ReportRecordError(record.status());
  PrintJsonLine(ParseCoreJson(*record));
  return FinishOutput();
}

// search DB TEXT: customers and contacts matching TEXT, one hit per line, best first.
int RunSearch(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::vector<SearchHit>> hits = db->Search(args[1], kSearchLimit);
  if (!hits.ok()) return ReportRecordError(hits.status());
  for (const SearchHit& hit : *hits) {
    if (!PrintJsonLine(SearchHitToJson(hit))) break;
  }
  return FinishOutput();
}

// timeline DB CUSTOMER_ID: the customer's visits, orders and contacts, one per line, most recent
// first.
int RunTimeline(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::string> timeline = db->Timeline(args[1]);
  if (!timeline.ok()) return ReportRecordError(timeline.status());
  for (const Json& entry : ParseCoreJson(*timeline)) {
    if (!PrintJsonLine(entry)) break;
  }
  return FinishOutput();
}

// agenda DB REP: the rep's due and overdue next actions and neglected customers, as one object.
int RunAgenda(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::string> agenda = db->Agenda(args[1]);
  if (!agenda.ok()) return ReportRecordError(agenda.status());
  PrintJsonLine(ParseCoreJson(*agenda));
  return FinishOutput();
}

// pending DB: how many changes wait in the outbox, and the age of the oldest.
int RunPending(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<PendingSummary> pending = db->Pending();
  if (!pending.ok()) return ReportRecordError(pending.status());
  PrintJsonLine(PendingSummaryToJson(*pending));
  return FinishOutput();
}

// The server credentials sync reads from the environment, never from argv.
constexpr char kUserVar[] = "FIELDSYNC_USER";
constexpr char kPasswordVar[] = "FIELDSYNC_PASSWORD";

// The value of `name`, or the usage problem (never quoting a value) when it is unset or empty.
std::string RequiredEnv(const char* name, std::string* problem) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    *problem = std::string(name) + (value == nullptr ? " is not set" : " is empty");
    return {};
  }
  return value;
}

// Whether the authority of `url` has userinfo ("https://user:pw@host"): credentials in argv.
bool UrlHasUserinfo(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const size_t at = url.find('@', start);
  return at != std::string::npos && (end == std::string::npos || at < end);
}

// sync DB --server URL: one sync round (log in, push the outbox, pull); prints the progress as one
// JSON object. Prints nothing when the round fails.
int RunSync(const Command& self, const Args& args) {
  const std::string& url = args[1];
  if (UrlHasUserinfo(url)) {
    return ReportUsage("--server URL must not carry credentials; set " + std::string(kUserVar) +
                           " and " + kPasswordVar,
                       Synopsis(self));
  }
  std::string problem;
  sync::ReplicatorOptions options;
  options.server_url = url;
  options.user = RequiredEnv(kUserVar, &problem);
  if (!problem.empty()) return ReportUsage(problem, Synopsis(self));
  options.password = RequiredEnv(kPasswordVar, &problem);
  if (!problem.empty()) return ReportUsage(problem, Synopsis(self));
  options.device_name = "fieldsync-cli";
  options.device_platform = "cli";

  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  // A revoked device: the server orders the database erased; the round then ends with
  // device_revoked (exit 1) and nothing is printed.
  options.erase_database = [&db] { return Database::Clear(db, /*force=*/true); };
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  sync::Replicator replicator(db.get(), http.get(), std::move(options));
  sync::SyncProgress progress;
  Status status = replicator.SyncOnce(&progress);
  if (!status.ok()) return ReportError(status);
  Result<PendingSummary> pending = db->Pending();
  if (!pending.ok()) return ReportError(pending.status());
  PrintJsonLine(SyncProgressToJson(progress, pending->count));
  return FinishOutput();
}

// Every open conflict of the database, by collection and record id, from the stored merge states.
Result<std::vector<sync::Conflict>> OpenConflicts(Database& db) {
  struct Stored {
    std::string collection, id, state;
  };
  std::vector<Stored> stored;
  Status status = db.writer_store().Execute(
      "SELECT collection, id, state FROM fs_sync_state ORDER BY collection, id", {},
      [&](const Row& row) {
        const auto* collection = std::get_if<std::string>(&row.values[0]);
        const auto* id = std::get_if<std::string>(&row.values[1]);
        const auto* state = std::get_if<std::string>(&row.values[2]);
        if (collection != nullptr && id != nullptr && state != nullptr) {
          stored.push_back({*collection, *id, *state});
        }
        return true;
      });
  if (!status.ok()) return status;
  std::vector<sync::Conflict> conflicts;
  for (const Stored& s : stored) {
    const CollectionDef* def = db.schema().Collection(s.collection);
    if (def == nullptr) continue;  // a collection this schema no longer has: nothing to show
    nlohmann::json json = nlohmann::json::parse(s.state, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded())
      return Status::Corruption("merge state of " + s.collection + "/" + s.id);
    Result<sync::RecordState> state = sync::RecordStateFromJson(json);
    if (!state.ok()) return state.status();
    for (sync::Conflict& c : sync::Conflicts(*def, s.id, *state)) conflicts.push_back(std::move(c));
  }
  return conflicts;
}

// conflicts DB: the open conflicts, one JSON object per line.
int RunConflicts(const Command& self, const Args& args) {
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::vector<sync::Conflict>> conflicts = OpenConflicts(*db);
  if (!conflicts.ok()) return ReportError(conflicts.status());
  for (const sync::Conflict& conflict : *conflicts) {
    if (!PrintJsonLine(ConflictToJson(conflict))) break;
  }
  return FinishOutput();
}

// resolve DB CONFLICT_ID JSON: sets the conflicted field to JSON (its new value), as a local edit
// that closes the conflict once synced. Prints nothing.
int RunResolve(const Command& self, const Args& args) {
  nlohmann::json value = nlohmann::json::parse(args[2], nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return ReportRecordError(Status::InvalidArgument(
        "JSON: not a JSON value (a string needs its quotes: '\"new note\"')"));
  }
  int exit_code = kExitFailure;
  std::unique_ptr<Database> db = OpenDatabase(self, args[0], &exit_code);
  if (!db) return exit_code;
  Result<std::vector<sync::Conflict>> conflicts = OpenConflicts(*db);
  if (!conflicts.ok()) return ReportError(conflicts.status());
  for (const sync::Conflict& conflict : *conflicts) {
    if (conflict.id != args[1]) continue;
    nlohmann::json patch = nlohmann::json::object();
    patch[conflict.field] = std::move(value);
    Status status = db->Update(conflict.collection, conflict.record_id, patch.dump());
    if (!status.ok()) return ReportRecordError(status);
    return kExitOk;
  }
  return ReportError(Status::NotFound("no open conflict '" + OneLine(args[1]) + "'"));
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"init", {"DB"}, {}, "create an encrypted field-sales database", RunInit},
      {"sql", {"DB", "\"SQL\""}, {}, "run SQL; print each result row as a JSON array", RunSql},
      {"verify", {"DB"}, {}, "authenticate every page and check integrity", RunVerify},
      {"passwd", {"DB"}, {}, "change the passphrase to FIELDSYNC_NEW_PASSPHRASE", RunPasswd},
      {"rekey",
       {"DB"},
       {},
       "re-encrypt with a new data key (and new passphrase, if set)",
       RunRekey},
      {"info", {"DB"}, {}, "print the header's non-secret facts (no key needed)", RunInfo},
      {"destroy",
       {"DB"},
       {},
       "shred the key and delete the database files (no key needed)",
       RunDestroy},
      {"put",
       {"DB", "COLLECTION", "JSON"},
       {},
       "validate and store a new record; print its id",
       RunPut},
      {"get", {"DB", "COLLECTION", "ID"}, {}, "print a record as JSON", RunGet},
      {"search",
       {"DB", "TEXT"},
       {},
       "find customers and contacts; one JSON hit per line, best first",
       RunSearch},
      {"timeline",
       {"DB", "CUSTOMER_ID"},
       {},
       "a customer's visits, orders and contacts, most recent first",
       RunTimeline},
      {"agenda", {"DB", "REP"}, {}, "a rep's due next actions and customers to contact", RunAgenda},
      {"pending", {"DB"}, {}, "count and age of the changes waiting to be sent", RunPending},
      {"sync",
       {"DB"},
       {"--server URL"},
       "one sync round as FIELDSYNC_USER; print the progress as JSON",
       RunSync},
      {"conflicts",
       {"DB"},
       {},
       "open conflicts as of the last sync; one JSON object per line",
       RunConflicts},
      {"resolve",
       {"DB", "CONFLICT_ID", "JSON"},
       {},
       "set the conflicted field to JSON; the next sync closes the conflict",
       RunResolve},
  };
  return commands;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

std::string CommandLine(const Command& command) {
  std::string line = command.name;
  for (const char* arg : command.arg_names) line += std::string(" ") + arg;
  for (const char* option : command.options) line += std::string(" ") + option;
  return line;
}

std::string Synopsis(const Command& command) { return "fieldsync-cli " + CommandLine(command); }

}  // namespace fieldsync::cli
