// tools/cli/commands.cc: the handlers of fieldsync-cli's commands and the table naming them.
//
// Each handler gets its positional arguments, already counted by main.cc, reads any key it needs
// from the environment (env_key.h), does one Store operation, prints its result on stdout (JSON,
// one document per line) and returns the exit code. Failures are reported through report.h.
// Environment problems are checked before the database is touched, so a usage error never leaves
// a half-done operation behind.
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "env_key.h"
#include "fieldsync/store.h"
#include "json_output.h"
#include "report.h"

namespace fieldsync::cli {
namespace {

// init DB: creates an encrypted database. Prints nothing on success.
int RunInit(const Command& self, const Args& args) {
  EnvKey key = CurrentKeyFromEnvironment();
  if (!key.provider) return ReportUsage(key.problem, Synopsis(self));
  Result<std::unique_ptr<Store>> store = Store::Create(args[0], *key.provider);
  if (!store.ok()) return ReportError(store.status());
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

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"init", {"DB"}, "create an encrypted database", RunInit},
      {"sql", {"DB", "\"SQL\""}, "run SQL; print each result row as a JSON array", RunSql},
      {"verify", {"DB"}, "authenticate every page and check integrity", RunVerify},
      {"passwd", {"DB"}, "change the passphrase to FIELDSYNC_NEW_PASSPHRASE", RunPasswd},
      {"rekey", {"DB"}, "re-encrypt with a new data key (and new passphrase, if set)", RunRekey},
      {"info", {"DB"}, "print the header's non-secret facts (no key needed)", RunInfo},
      {"destroy",
       {"DB"},
       "shred the key and delete the database files (no key needed)",
       RunDestroy},
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
