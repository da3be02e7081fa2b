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
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "env_key.h"
#include "env_options.h"
#include "fieldsync/database.h"
#include "fieldsync/store.h"
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

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"init", {"DB"}, "create an encrypted field-sales database", RunInit},
      {"sql", {"DB", "\"SQL\""}, "run SQL; print each result row as a JSON array", RunSql},
      {"verify", {"DB"}, "authenticate every page and check integrity", RunVerify},
      {"passwd", {"DB"}, "change the passphrase to FIELDSYNC_NEW_PASSPHRASE", RunPasswd},
      {"rekey", {"DB"}, "re-encrypt with a new data key (and new passphrase, if set)", RunRekey},
      {"info", {"DB"}, "print the header's non-secret facts (no key needed)", RunInfo},
      {"destroy",
       {"DB"},
       "shred the key and delete the database files (no key needed)",
       RunDestroy},
      {"put",
       {"DB", "COLLECTION", "JSON"},
       "validate and store a new record; print its id",
       RunPut},
      {"get", {"DB", "COLLECTION", "ID"}, "print a record as JSON", RunGet},
      {"search",
       {"DB", "TEXT"},
       "find customers and contacts; one JSON hit per line, best first",
       RunSearch},
      {"timeline",
       {"DB", "CUSTOMER_ID"},
       "a customer's visits, orders and contacts, most recent first",
       RunTimeline},
      {"agenda", {"DB", "REP"}, "a rep's due next actions and customers to contact", RunAgenda},
      {"pending", {"DB"}, "count and age of the changes waiting to be sent", RunPending},
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
  return line;
}

std::string Synopsis(const Command& command) { return "fieldsync-cli " + CommandLine(command); }

}  // namespace fieldsync::cli
