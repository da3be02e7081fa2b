// tests/tools/cli_test.cc: fieldsync-cli's contract, checked against the real binary.
//
// Each case makes a fresh temporary directory, runs FIELDSYNC_CLI_PATH as a subprocess
// (posix_spawn) with an environment built from scratch (only the variables the case names, plus
// sanitizer and library-path variables passed through), and checks its exit code, stdout and
// stderr. Nothing is mocked: the databases are real encrypted files made by core.
//
// Where the passphrase itself is not the point, cases use FIELDSYNC_KEY_HEX: every passphrase open
// costs a full scrypt (~0.1 s), and the CLI deliberately offers no way to lower that cost.
//
// The record commands (put, get, search, timeline, agenda, pending) are checked through their
// output only: ids come from put's stdout, and no case reads core's internal tables.
//
// sync, conflicts and resolve run against the real fieldsync-server (FIELDSYNC_SERVER_PATH), set
// up with its `admin` commands and started with `serve` on 127.0.0.1 port 0 (ServerProcess, which
// always stops it). The CLI has no update command, so the concurrent edits that make a conflict
// are made through core's public Database::Update on the closed tablet files.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/store.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kCli[] = FIELDSYNC_CLI_PATH;
constexpr char kServer[] = FIELDSYNC_SERVER_PATH;
constexpr char kPassphrase[] = "correct horse battery staple";
constexpr char kOtherPassphrase[] = "Tr0ub4dor&3 saddle";
constexpr char kKeyHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kOtherKeyHex[] = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";

using EnvVars = std::vector<std::pair<std::string, std::string>>;

const EnvVars kPassphraseEnv = {{"FIELDSYNC_PASSPHRASE", kPassphrase}};
const EnvVars kKeyHexEnv = {{"FIELDSYNC_KEY_HEX", kKeyHex}};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A fresh directory under the system temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fieldsync_cli_test.XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // An absolute path inside the directory.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

  // Runs fieldsync-cli with `args` and exactly `env` (plus pass-through variables), stdin from
  // /dev/null, stdout and stderr captured through files in this directory.
  RunResult Run(const std::vector<std::string>& args, const EnvVars& env = {}) {
    return RunProgram(kCli, args, env);
  }

  // Runs `program` (fieldsync-cli or fieldsync-server) the same way.
  RunResult RunProgram(const char* program, const std::vector<std::string>& args,
                       const EnvVars& env) {
    const std::string out_path = File("stdout." + std::to_string(runs_));
    const std::string err_path = File("stderr." + std::to_string(runs_));
    ++runs_;
    const pid_t pid = Spawn(program, args, env, out_path, err_path);

    int wait_status = 0;
    pid_t waited = 0;
    do {
      waited = waitpid(pid, &wait_status, 0);
    } while (waited < 0 && errno == EINTR);
    REQUIRE(waited == pid);

    RunResult result;
    result.out = ReadWholeFile(out_path);
    result.err = ReadWholeFile(err_path);
    if (WIFEXITED(wait_status)) {
      result.exit_code = WEXITSTATUS(wait_status);
    } else {
      FAIL(program << " was killed by signal " << WTERMSIG(wait_status)
                   << "; stderr: " << result.err);
    }
    return result;
  }

  // Starts `program` with `args` and exactly `env` (plus pass-through variables), stdin from
  // /dev/null, stdout and stderr to the given files; returns its pid without waiting.
  static pid_t Spawn(const char* program, const std::vector<std::string>& args, const EnvVars& env,
                     const std::string& out_path, const std::string& err_path) {
    std::vector<std::string> argv_storage = {program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_storage;
    for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
    // Sanitizer builds and shared-library builds need these to run at all; none is a key.
    for (const char* name :
         {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH", "TMPDIR"}) {
      if (const char* value = std::getenv(name))
        env_storage.push_back(std::string(name) + "=" + value);
    }
    std::vector<char*> envp;
    for (std::string& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
    REQUIRE(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0) ==
            0);
    REQUIRE(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                             O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    REQUIRE(posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                             O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    pid_t pid = 0;
    const int spawn_error = posix_spawn(&pid, program, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(spawn_error == 0, "posix_spawn failed: " << std::strerror(spawn_error));
    return pid;
  }

 private:
  fs::path path_;
  int runs_ = 0;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The single `error: ...` line of stderr. Any other line must be a library log line ("log: ...");
// usage errors may add their "usage:" hint and help text.
std::string ErrorLine(const RunResult& r) {
  std::string error_line;
  int error_lines = 0;
  for (const std::string& line : Lines(r.err)) {
    if (StartsWith(line, "error: ")) {
      error_line = line;
      ++error_lines;
    }
  }
  CHECK_MESSAGE(error_lines == 1, "stderr: " << r.err);
  return error_line;
}

// Checks exit code and the `error: <code>: ` prefix of the error line.
void CheckFails(const RunResult& r, int exit_code, const std::string& code) {
  CHECK_MESSAGE(r.exit_code == exit_code, "stderr: " << r.err);
  const std::string line = ErrorLine(r);
  CHECK_MESSAGE(StartsWith(line, "error: " + code + ": "), "stderr: " << r.err);
  if (code != "usage") {
    for (const std::string& other : Lines(r.err)) {
      if (other != line) CHECK_MESSAGE(StartsWith(other, "log: "), "stderr: " << r.err);
    }
  }
}

void CheckSucceeds(const RunResult& r) {
  REQUIRE_MESSAGE(r.exit_code == 0, "stderr: " << r.err);
  CHECK_MESSAGE(r.err.find("error:") == std::string::npos, "stderr: " << r.err);
}

Json ParseOneJsonLine(const std::string& out) {
  const std::vector<std::string> lines = Lines(out);
  REQUIRE_MESSAGE(lines.size() == 1, "stdout: " << out);
  return Json::parse(lines[0]);
}

std::string Hex(const uint8_t* data, size_t size, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(digits[data[i] >> 4]);
    hex.push_back(digits[data[i] & 0x0f]);
  }
  return hex;
}

// A database made with kKeyHex holding table t(id, name) with two rows.
std::string MakeSmallDb(TempDir& dir, const std::string& name = "small.db") {
  const std::string db = dir.File(name);
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  CheckSucceeds(dir.Run({"sql", db,
                         "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT);"
                         "INSERT INTO t(name) VALUES ('Alice'), ('客户 张伟');"},
                        kKeyHexEnv));
  return db;
}

const char kSmallDbRows[] = "[1,\"Alice\"]\n[2,\"客户 张伟\"]\n";

// A field-sales database made by init with kKeyHex.
std::string MakeRecordDb(TempDir& dir, const std::string& name = "records.db") {
  const std::string db = dir.File(name);
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  return db;
}

// Runs put, which must succeed, and returns the id it printed (stdout is the id and a newline).
std::string Put(TempDir& dir, const std::string& db, const std::string& collection,
                const std::string& json, const EnvVars& env = kKeyHexEnv) {
  RunResult r = dir.Run({"put", db, collection, json}, env);
  CheckSucceeds(r);
  const std::vector<std::string> lines = Lines(r.out);
  REQUIRE_MESSAGE(lines.size() == 1, "stdout: " << r.out);
  REQUIRE_FALSE(lines[0].empty());
  CHECK(lines[0].find_first_of(" \"{}") == std::string::npos);  // the bare id, not JSON
  return lines[0];
}

Json Pending(TempDir& dir, const std::string& db) {
  RunResult r = dir.Run({"pending", db}, kKeyHexEnv);
  CheckSucceeds(r);
  return ParseOneJsonLine(r.out);
}

std::vector<Json> JsonLines(const std::string& out) {
  std::vector<Json> docs;
  for (const std::string& line : Lines(out)) docs.push_back(Json::parse(line));
  return docs;
}

// Today's date in UTC, "YYYY-MM-DD": the day the agenda calls "today".
std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[16];
  std::strftime(date, sizeof(date), "%Y-%m-%d", &tm);
  return date;
}

const char kZhangWei[] =
    R"({"kind":"person","name":"张伟","phones":["138 0013 8000"],"grade":"A","owner_rep":"李雷"})";

}  // namespace

// --- usage -------------------------------------------------------------------------------------

TEST_CASE("--help prints usage naming every command on stdout and exits 0") {
  TempDir dir;
  for (const char* flag : {"--help", "-h"}) {
    RunResult r = dir.Run({flag});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("usage:") != std::string::npos);
    for (const char* command :
         {"init", "sql", "verify", "passwd", "rekey", "info", "destroy", "put", "get", "search",
          "timeline", "agenda", "pending", "sync", "conflicts", "resolve"}) {
      CHECK_MESSAGE(r.out.find(std::string("  ") + command + " ") != std::string::npos, command);
    }
    CHECK(r.out.find("FIELDSYNC_PASSPHRASE") != std::string::npos);
    CHECK(r.out.find("FIELDSYNC_REGION") != std::string::npos);
    CHECK(r.out.find("FIELDSYNC_USER") != std::string::npos);
    CHECK(r.out.find("FIELDSYNC_PASSWORD") != std::string::npos);
    CHECK(r.out.find("6 invalid input") != std::string::npos);
  }
}

TEST_CASE("no arguments prints usage on stderr and exits 2") {
  TempDir dir;
  RunResult r = dir.Run({});
  CheckFails(r, 2, "usage");
  CHECK(r.out.empty());
  CHECK(r.err.find("init") != std::string::npos);
}

TEST_CASE("an unknown command exits 2 with a usage error") {
  TempDir dir;
  RunResult r = dir.Run({"frobnicate", dir.File("x.db")}, kKeyHexEnv);
  CheckFails(r, 2, "usage");
  CHECK(ErrorLine(r) == "error: usage: unknown command 'frobnicate'");
  CHECK(r.out.empty());
}

TEST_CASE("a wrong argument count exits 2 with a usage hint") {
  TempDir dir;
  const std::string db = dir.File("x.db");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"init"}, {"sql", db}, {"info", db, db}, {"verify"}}) {
    RunResult r = dir.Run(args, kKeyHexEnv);
    CheckFails(r, 2, "usage");
    CHECK(r.err.find("\nusage: fieldsync-cli " + args[0]) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE("a passphrase in argv is refused and never echoed") {
  TempDir dir;
  const std::string db = dir.File("argv.db");
  const std::string secret = "hunter2-in-argv";
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"init", db, "--passphrase=" + secret},
           {"init", "--passphrase", secret, db},
           {"--passphrase=" + secret, "init", db},
           {"init", db, secret},
           {"sql", db, "SELECT 1", "-p", secret},
       }) {
    RunResult r = dir.Run(args);
    CheckFails(r, 2, "usage");
    CHECK(r.out.empty());
    CHECK(r.err.find(secret) == std::string::npos);
  }
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE("a missing FIELDSYNC_PASSPHRASE exits 2 before touching the database") {
  TempDir dir;
  const std::string db = dir.File("nokey.db");
  for (const char* command : {"init", "verify", "passwd", "rekey"}) {
    RunResult r = dir.Run({command, db});
    CheckFails(r, 2, "usage");
    CHECK(r.err.find("FIELDSYNC_PASSPHRASE") != std::string::npos);
  }
  CheckFails(dir.Run({"sql", db, "SELECT 1"}), 2, "usage");
  CheckFails(dir.Run({"init", db}, {{"FIELDSYNC_PASSPHRASE", ""}}), 2, "usage");
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"put", db, "customers", kZhangWei},
           {"get", db, "customers", "c1"},
           {"search", db, "张伟"},
           {"timeline", db, "c1"},
           {"agenda", db, "李雷"},
           {"pending", db},
       }) {
    RunResult r = dir.Run(args);
    CheckFails(r, 2, "usage");
    CHECK(r.err.find("FIELDSYNC_PASSPHRASE") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE("setting both FIELDSYNC_PASSPHRASE and FIELDSYNC_KEY_HEX is a usage error") {
  TempDir dir;
  const std::string db = dir.File("both.db");
  RunResult r = dir.Run({"init", db},
                        {{"FIELDSYNC_PASSPHRASE", kPassphrase}, {"FIELDSYNC_KEY_HEX", kKeyHex}});
  CheckFails(r, 2, "usage");
  CHECK(r.err.find(kPassphrase) == std::string::npos);
  CHECK(r.err.find(kKeyHex) == std::string::npos);
  CHECK_FALSE(fs::exists(db));
}

TEST_CASE("a malformed FIELDSYNC_KEY_HEX is a usage error that does not echo it") {
  TempDir dir;
  const std::string db = dir.File("badhex.db");
  const std::string not_hex = std::string(kKeyHex).substr(0, 62) + "zz";
  for (const std::string& value :
       {std::string(kKeyHex).substr(0, 62), not_hex, std::string(kKeyHex) + "00", std::string()}) {
    RunResult r = dir.Run({"init", db}, {{"FIELDSYNC_KEY_HEX", value}});
    CheckFails(r, 2, "usage");
    if (!value.empty()) CHECK(r.err.find(value) == std::string::npos);
  }
  CHECK_FALSE(fs::exists(db));
}

// --- init and sql -------------------------------------------------------------------------------

TEST_CASE("init then sql round-trips Latin and Chinese text as unescaped JSON arrays") {
  TempDir dir;
  const std::string db = dir.File("rep.db");
  RunResult init = dir.Run({"init", db}, kPassphraseEnv);
  CheckSucceeds(init);
  CHECK(init.out.empty());
  CHECK(fs::exists(db));

  CheckSucceeds(dir.Run({"sql", db,
                         "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
                         "INSERT INTO customer(name, city) VALUES ('Zoë Müller', 'Köln'),"
                         " ('客户 张伟', '北京');"},
                        kPassphraseEnv));
  RunResult r =
      dir.Run({"sql", db, "SELECT id, name, city FROM customer ORDER BY id"}, kPassphraseEnv);
  CheckSucceeds(r);
  CHECK(r.out == "[1,\"Zoë Müller\",\"Köln\"]\n[2,\"客户 张伟\",\"北京\"]\n");
  CHECK(r.out.find("\\u") == std::string::npos);
  CHECK(r.err.find(kPassphrase) == std::string::npos);
}

TEST_CASE("FIELDSYNC_KEY_HEX works for init and sql") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  RunResult r = dir.Run({"sql", db, "SELECT id, name FROM t ORDER BY id"}, kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out == kSmallDbRows);
  // Upper-case hex is the same key.
  std::string upper = kKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  RunResult upper_run =
      dir.Run({"sql", db, "SELECT count(*) FROM t"}, {{"FIELDSYNC_KEY_HEX", upper}});
  CheckSucceeds(upper_run);
  CHECK(upper_run.out == "[2]\n");
}

TEST_CASE("sql prints NULL, integers, reals, text and blobs with the documented mapping") {
  TempDir dir;
  const std::string db = dir.File("types.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  RunResult r = dir.Run({"sql", db,
                         "SELECT NULL, 42, -9223372036854775808, 1.5, 3.0, 'it''s \"q\"\\',"
                         " x'00ff10', x''"},
                        kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out ==
        "[null,42,-9223372036854775808,1.5,3.0,\"it's \\\"q\\\"\\\\\",{\"blob_hex\":\"00ff10\"},"
        "{\"blob_hex\":\"\"}]\n");
}

TEST_CASE("sql prints rows of every statement and nothing for statements without rows") {
  TempDir dir;
  const std::string db = dir.File("multi.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  RunResult r = dir.Run(
      {"sql", db, "CREATE TABLE t(x); SELECT 1; SELECT 'a', 'b'; SELECT * FROM t"}, kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out == "[1]\n[\"a\",\"b\"]\n");
}

TEST_CASE("sql replaces invalid UTF-8 in TEXT values instead of failing") {
  TempDir dir;
  const std::string db = dir.File("utf8.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  RunResult r = dir.Run({"sql", db, "SELECT CAST(x'ff41' AS TEXT), '张'"}, kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out ==
        "[\"\xEF\xBF\xBD"
        "A\",\"张\"]\n");
}

TEST_CASE("-- ends options so SQL may start with a dash") {
  TempDir dir;
  const std::string db = dir.File("dash.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  RunResult r = dir.Run({"sql", db, "--", "-- a comment\nSELECT 7"}, kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out == "[7]\n");
}

TEST_CASE("invalid SQL exits 1 with invalid_argument on one line") {
  TempDir dir;
  const std::string db = dir.File("bad.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  RunResult r = dir.Run({"sql", db, "SELEKT nonsense FROM"}, kKeyHexEnv);
  CheckFails(r, 1, "invalid_argument");
  CHECK(r.out.empty());
}

TEST_CASE("init on an existing path exits 1 with already_exists and leaves it alone") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  CheckFails(dir.Run({"init", db}, kKeyHexEnv), 1, "already_exists");
  CHECK(dir.Run({"sql", db, "SELECT id, name FROM t ORDER BY id"}, kKeyHexEnv).out == kSmallDbRows);

  const std::string plain = dir.File("notes.txt");
  std::ofstream(plain) << "not a database\n";
  CheckFails(dir.Run({"init", plain}, kKeyHexEnv), 1, "already_exists");
  CHECK(ReadWholeFile(plain) == "not a database\n");
}

TEST_CASE("sql on a nonexistent database exits 1 with not_found and creates nothing") {
  TempDir dir;
  const std::string db = dir.File("missing.db");
  RunResult r = dir.Run({"sql", db, "SELECT 1"}, kKeyHexEnv);
  CheckFails(r, 1, "not_found");
  CHECK(r.out.empty());
  CHECK_FALSE(fs::exists(db));
}

// --- keys ---------------------------------------------------------------------------------------

TEST_CASE("a wrong passphrase exits 3 with wrong_key") {
  TempDir dir;
  const std::string db = dir.File("locked.db");
  CheckSucceeds(dir.Run({"init", db}, kPassphraseEnv));
  RunResult r = dir.Run({"sql", db, "SELECT 1"}, {{"FIELDSYNC_PASSPHRASE", kOtherPassphrase}});
  CheckFails(r, 3, "wrong_key");
  CHECK(r.out.empty());
  CHECK(r.err.find(kOtherPassphrase) == std::string::npos);
  CHECK(r.err.find(kPassphrase) == std::string::npos);
}

TEST_CASE("a wrong raw key, or a passphrase for a raw-key database, exits 3 with wrong_key") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  CheckFails(dir.Run({"sql", db, "SELECT 1"}, {{"FIELDSYNC_KEY_HEX", kOtherKeyHex}}), 3,
             "wrong_key");
  CheckFails(dir.Run({"verify", db}, kPassphraseEnv), 3, "wrong_key");
}

TEST_CASE("passwd: the old passphrase then fails, the new one works and data is intact") {
  TempDir dir;
  const std::string db = dir.File("passwd.db");
  CheckSucceeds(dir.Run({"init", db}, kPassphraseEnv));
  CheckSucceeds(
      dir.Run({"sql", db,
               "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t(name) VALUES"
               " ('Alice'), ('客户 张伟');"},
              kPassphraseEnv));

  RunResult passwd = dir.Run({"passwd", db}, {{"FIELDSYNC_PASSPHRASE", kPassphrase},
                                              {"FIELDSYNC_NEW_PASSPHRASE", kOtherPassphrase}});
  CheckSucceeds(passwd);
  CHECK(passwd.out.empty());
  CHECK(passwd.err.find(kOtherPassphrase) == std::string::npos);

  CheckFails(dir.Run({"sql", db, "SELECT 1"}, kPassphraseEnv), 3, "wrong_key");
  RunResult r = dir.Run({"sql", db, "SELECT id, name FROM t ORDER BY id"},
                        {{"FIELDSYNC_PASSPHRASE", kOtherPassphrase}});
  CheckSucceeds(r);
  CHECK(r.out == kSmallDbRows);
}

TEST_CASE("passwd without a non-empty FIELDSYNC_NEW_PASSPHRASE exits 2 and changes nothing") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  const std::string before = ReadWholeFile(db);
  RunResult unset = dir.Run({"passwd", db}, kKeyHexEnv);
  CheckFails(unset, 2, "usage");
  CHECK(unset.err.find("FIELDSYNC_NEW_PASSPHRASE") != std::string::npos);
  CheckFails(
      dir.Run({"passwd", db}, {{"FIELDSYNC_KEY_HEX", kKeyHex}, {"FIELDSYNC_NEW_PASSPHRASE", ""}}),
      2, "usage");
  CHECK(ReadWholeFile(db) == before);
}

TEST_CASE("rekey changes data_key_id in info and keeps the data") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  RunResult before = dir.Run({"info", db});
  CheckSucceeds(before);
  const Json info_before = ParseOneJsonLine(before.out);

  RunResult rekey = dir.Run({"rekey", db}, kKeyHexEnv);
  CheckSucceeds(rekey);
  CHECK(rekey.out.empty());

  RunResult after = dir.Run({"info", db});
  CheckSucceeds(after);
  const Json info_after = ParseOneJsonLine(after.out);
  CHECK(info_after.at("data_key_id").get<std::string>() != "");
  CHECK(info_after.at("data_key_id") != info_before.at("data_key_id"));
  CHECK(info_after.at("key_generation").get<uint64_t>() >
        info_before.at("key_generation").get<uint64_t>());

  RunResult r = dir.Run({"sql", db, "SELECT id, name FROM t ORDER BY id"}, kKeyHexEnv);
  CheckSucceeds(r);
  CHECK(r.out == kSmallDbRows);
}

TEST_CASE("rekey with FIELDSYNC_NEW_PASSPHRASE also switches to that passphrase") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  CheckSucceeds(dir.Run(
      {"rekey", db}, {{"FIELDSYNC_KEY_HEX", kKeyHex}, {"FIELDSYNC_NEW_PASSPHRASE", kPassphrase}}));
  CheckFails(dir.Run({"sql", db, "SELECT 1"}, kKeyHexEnv), 3, "wrong_key");
  RunResult r = dir.Run({"sql", db, "SELECT id, name FROM t ORDER BY id"}, kPassphraseEnv);
  CheckSucceeds(r);
  CHECK(r.out == kSmallDbRows);
  const Json info = ParseOneJsonLine(dir.Run({"info", db}).out);
  CHECK(info.at("kdf").at("name") == "scrypt");
}

// --- info ---------------------------------------------------------------------------------------

TEST_CASE("info prints header JSON without the passphrase or the salt, and needs no key") {
  TempDir dir;
  const std::string db = dir.File("info.db");
  CheckSucceeds(dir.Run({"init", db}, kPassphraseEnv));
  RunResult r = dir.Run({"info", db});  // no key in the environment at all
  CheckSucceeds(r);
  const Json info = ParseOneJsonLine(r.out);
  for (const char* key : {"format_version", "cipher", "page_size", "reserve_bytes", "page_count",
                          "wal_bytes", "database_id", "data_key_id", "key_generation", "kdf"}) {
    CHECK_MESSAGE(info.contains(key), key);
  }
  CHECK(info.at("cipher").get<std::string>() == "AES-256-GCM");
  CHECK(info.at("page_count").get<uint64_t>() >= 1);
  CHECK(info.at("page_size").get<int>() > 0);
  CHECK(info.at("kdf").at("name") == "scrypt");
  CHECK(info.at("kdf").at("n").get<uint64_t>() > 1);
  CHECK(info.at("kdf").at("r").get<uint32_t>() > 0);
  CHECK(info.at("kdf").at("p").get<uint32_t>() > 0);
  CHECK_FALSE(info.at("kdf").contains("salt"));
  CHECK_FALSE(info.contains("salt"));

  CHECK(r.out.find(kPassphrase) == std::string::npos);
  fieldsync::Result<fieldsync::StoreInfo> header = fieldsync::Store::ReadInfo(db);
  REQUIRE_MESSAGE(header.ok(), header.status().ToString());
  const auto& salt = header->kek.salt;
  CHECK(r.out.find(Hex(salt.data(), salt.size(), false)) == std::string::npos);
  CHECK(r.out.find(Hex(salt.data(), salt.size(), true)) == std::string::npos);
  // No shorter run of it either (a truncated or differently grouped salt).
  CHECK(r.out.find(Hex(salt.data(), 8, false)) == std::string::npos);
  CHECK(r.out.find(Hex(salt.data(), 8, true)) == std::string::npos);
}

TEST_CASE("info names the raw-key KDF without scrypt parameters") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  const Json info = ParseOneJsonLine(dir.Run({"info", db}).out);
  CHECK(info.at("kdf").at("name") == "raw-key+hkdf-sha256");
  CHECK_FALSE(info.at("kdf").contains("n"));
  CHECK(dir.Run({"info", db}).out.find(kKeyHex) == std::string::npos);
}

TEST_CASE("info on a nonexistent file exits 1 with not_found") {
  TempDir dir;
  CheckFails(dir.Run({"info", dir.File("nothing.db")}), 1, "not_found");
}

// --- verify -------------------------------------------------------------------------------------

TEST_CASE("verify exits 0 on a good database, then 4 after a byte inside a page is flipped") {
  TempDir dir;
  const std::string db = dir.File("verify.db");
  CheckSucceeds(dir.Run({"init", db}, kKeyHexEnv));
  CheckSucceeds(dir.Run({"sql", db,
                         "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT);"
                         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                         " WHERE x < 400) INSERT INTO t(body) SELECT hex(randomblob(100)) FROM c;"
                         "PRAGMA wal_checkpoint(TRUNCATE);"},
                        kKeyHexEnv));

  RunResult good = dir.Run({"verify", db}, kKeyHexEnv);
  CheckSucceeds(good);
  const Json report = ParseOneJsonLine(good.out);
  CHECK(report.at("integrity") == "ok");
  CHECK(report.at("pages_authenticated").get<uint64_t>() >= 4);
  CHECK(report.contains("wal_frames_authenticated"));

  const uint64_t size = fs::file_size(db);
  REQUIRE_MESSAGE(size >= 4 * 8192, "database too small to tamper inside a page: " << size);
  const uint64_t offset = size / 2;
  REQUIRE(offset > 8192);
  {
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x01);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(&byte, 1);
    REQUIRE(file.good());
  }
  RunResult bad = dir.Run({"verify", db}, kKeyHexEnv);
  CheckFails(bad, 4, "corruption");
}

// --- destroy ------------------------------------------------------------------------------------

TEST_CASE("destroy removes the database with its -wal, -shm and -journal files, then open fails") {
  TempDir dir;
  const std::string db = MakeSmallDb(dir);
  // The last connection usually checkpoints and deletes the WAL on close, so make sure every
  // companion exists for destroy to remove.
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (!fs::exists(db + suffix)) std::ofstream(db + suffix) << "companion";
  }
  RunResult r = dir.Run({"destroy", db});  // no key needed
  CheckSucceeds(r);
  CHECK(r.out.empty());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CHECK_MESSAGE(!fs::exists(db + suffix), db << suffix);
  }
  CheckFails(dir.Run({"sql", db, "SELECT 1"}, kKeyHexEnv), 1, "not_found");
  CheckFails(dir.Run({"info", db}), 1, "not_found");
}

// --- records ------------------------------------------------------------------------------------

TEST_CASE("put prints the new id, and get prints the record with its phone in E.164") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  const std::string id = Put(dir, db, "customers", kZhangWei);

  RunResult r = dir.Run({"get", db, "customers", id}, kKeyHexEnv);
  CheckSucceeds(r);
  const Json record = ParseOneJsonLine(r.out);
  CHECK(record.at("id") == id);
  CHECK(record.at("name") == "张伟");
  CHECK(record.at("phones") == Json::array({"+8613800138000"}));
  CHECK(record.at("grade") == "A");
  CHECK(r.out.find("张伟") != std::string::npos);  // UTF-8 as itself, like sql
  CHECK(r.out.find("\\u") == std::string::npos);
}

TEST_CASE("put with a bad phone and an unknown grade exits 6, names both fields, writes nothing") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  Put(dir, db, "customers", kZhangWei);
  const Json before = Pending(dir, db);

  RunResult r = dir.Run(
      {"put", db, "customers", R"({"kind":"person","name":"王芳","phones":["12"],"grade":"Z"})"},
      kKeyHexEnv);
  CheckFails(r, 6, "invalid_argument");
  CHECK(r.out.empty());
  const std::string line = ErrorLine(r);
  CHECK_MESSAGE(line.find("phones[0]") != std::string::npos, line);
  CHECK_MESSAGE(line.find("grade") != std::string::npos, line);

  CHECK(Pending(dir, db).at("count") == before.at("count"));
  CHECK(dir.Run({"search", db, "王芳"}, kKeyHexEnv).out.empty());
}

TEST_CASE("malformed JSON and unknown collections exit 6 with invalid_argument") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"put", db, "customers", "{\"kind\":"},
           {"put", db, "customers", "[1,2]"},
           {"put", db, "customers", "{}"},  // required kind and name missing
           {"put", db, "custmers", kZhangWei},
           {"get", db, "custmers", "c1"},
       }) {
    RunResult r = dir.Run(args, kKeyHexEnv);
    CheckFails(r, 6, "invalid_argument");
    CHECK(r.out.empty());
  }
  const std::string missing = ErrorLine(dir.Run({"put", db, "customers", "{}"}, kKeyHexEnv));
  CHECK_MESSAGE(missing.find("kind") != std::string::npos, missing);
  CHECK_MESSAGE(missing.find("name") != std::string::npos, missing);
  CHECK(Pending(dir, db).at("count") == 0);
}

TEST_CASE("every problem stays on the one error line, even a quoted value with a newline") {
  // The chosen contract: one `error:` line per failure, problems separated by "; " and any
  // newline core or the input brings in flattened to a space, so a value cannot forge a line.
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  RunResult r = dir.Run(
      {"put", db, "customers", R"({"kind":"robot","name":"x","grade":"Z\nerror: ok: forged"})"},
      kKeyHexEnv);
  CheckFails(r, 6, "invalid_argument");  // also checks that there is exactly one error line
  const std::string line = ErrorLine(r);
  CHECK_MESSAGE(line.find("kind") != std::string::npos, line);
  CHECK_MESSAGE(line.find("; grade") != std::string::npos, line);
  CHECK(Lines(r.err).size() == 1);
}

TEST_CASE("get of a missing id exits 1 with not_found") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  RunResult r = dir.Run({"get", db, "customers", "no-such-id"}, kKeyHexEnv);
  CheckFails(r, 1, "not_found");
  CHECK(r.out.empty());
}

TEST_CASE("search finds a customer by Chinese name, pinyin initials and partial phone") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  const std::string zhang_wei = Put(dir, db, "customers", kZhangWei);
  const std::string zhang_wei_qiang =
      Put(dir, db, "customers", R"({"kind":"person","name":"张伟强","phones":["139 0013 9000"]})");
  const std::string li_na =
      Put(dir, db, "customers", R"({"kind":"person","name":"李娜","phones":["137 0000 1111"]})");

  for (const char* text : {"张伟", "zw", "zhangwei", "13800138", "0013 8000"}) {
    RunResult r = dir.Run({"search", db, text}, kKeyHexEnv);
    CheckSucceeds(r);
    const std::vector<Json> hits = JsonLines(r.out);
    REQUIRE_MESSAGE(!hits.empty(), text);
    CHECK_MESSAGE(hits[0].at("id") == zhang_wei, text << ": " << r.out);
    for (size_t i = 0; i < hits.size(); ++i) {
      const Json& hit = hits[i];
      CHECK(hit.at("collection") == "customers");
      CHECK(hit.at("field").is_string());
      CHECK(hit.at("record").at("id") == hit.at("id"));
      CHECK(hit.at("id") != li_na);
      if (i > 0) CHECK(hits[i - 1].at("score").get<double>() >= hit.at("score").get<double>());
    }
    CHECK(hits[0].at("record").at("name") == "张伟");
  }
  const std::vector<Json> both = JsonLines(dir.Run({"search", db, "张伟"}, kKeyHexEnv).out);
  REQUIRE(both.size() == 2);
  CHECK(both[1].at("id") == zhang_wei_qiang);
  CHECK(JsonLines(dir.Run({"search", db, "13800138"}, kKeyHexEnv).out)[0].at("field") == "phones");

  RunResult none = dir.Run({"search", db, "王芳"}, kKeyHexEnv);
  CheckSucceeds(none);
  CHECK(none.out.empty());
}

TEST_CASE("timeline lists a customer's order and visit, most recent first") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  const std::string customer = Put(dir, db, "customers", kZhangWei);
  const std::string visit = Put(dir, db, "visits",
                                R"({"customer":")" + customer +
                                    R"(","rep":"李雷","start":"2024-03-15T09:30:00+08:00",)"
                                    R"("summary":"初次拜访"})");
  const std::string order =
      Put(dir, db, "orders",
          R"({"customer":")" + customer + R"(","date":"2024-04-01","amount":"12345.50"})");

  RunResult r = dir.Run({"timeline", db, customer}, kKeyHexEnv);
  CheckSucceeds(r);
  const std::vector<Json> entries = JsonLines(r.out);
  REQUIRE_MESSAGE(entries.size() == 2, r.out);
  CHECK(entries[0].at("kind") == "order");
  CHECK(entries[0].at("id") == order);
  CHECK(entries[0].at("record").at("date") == "2024-04-01");
  CHECK(entries[1].at("kind") == "visit");
  CHECK(entries[1].at("id") == visit);
  CHECK(entries[1].at("record").at("summary") == "初次拜访");

  CheckFails(dir.Run({"timeline", db, "no-such-customer"}, kKeyHexEnv), 1, "not_found");
}

TEST_CASE("agenda shows a rep's next action due today, and nothing for another rep") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  const std::string customer = Put(dir, db, "customers", kZhangWei);
  const std::string today = TodayUtc();
  const std::string visit = Put(dir, db, "visits",
                                R"({"customer":")" + customer +
                                    R"(","rep":"李雷","start":"2024-03-15T09:30:00+08:00",)"
                                    R"("next_action":"送样品","next_action_due":")" +
                                    today + R"("})");

  RunResult r = dir.Run({"agenda", db, "李雷"}, kKeyHexEnv);
  CheckSucceeds(r);
  const Json agenda = ParseOneJsonLine(r.out);
  CHECK(agenda.at("rep") == "李雷");
  // Past midnight UTC between the two runs, today's action has become overdue.
  const char* bucket = agenda.at("today") == today ? "due" : "overdue";
  REQUIRE_MESSAGE(agenda.at(bucket).size() == 1, r.out);
  const Json& action = agenda.at(bucket)[0];
  CHECK(action.at("visit") == visit);
  CHECK(action.at("customer") == customer);
  CHECK(action.at("next_action") == "送样品");
  CHECK(action.at("next_action_due") == today);

  const Json other = ParseOneJsonLine(dir.Run({"agenda", db, "韩梅梅"}, kKeyHexEnv).out);
  CHECK(other.at("due").empty());
  CHECK(other.at("overdue").empty());
  CHECK(other.at("not_contacted").empty());
}

TEST_CASE("pending prints count and oldest_age_s of the outbox") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  const Json empty = Pending(dir, db);
  CHECK(empty == Json::parse(R"({"count":0,"oldest_age_s":0})"));

  Put(dir, db, "customers", kZhangWei);
  Put(dir, db, "customers", R"({"kind":"company","name":"明辉贸易"})");
  const Json two = Pending(dir, db);
  CHECK(two.size() == 2);
  CHECK(two.at("count").get<int64_t>() >= 2);  // at least one change per record
  CHECK(two.at("oldest_age_s").get<int64_t>() >= 0);
}

TEST_CASE("a wrong passphrase on put exits 3 and writes nothing") {
  TempDir dir;
  const std::string db = dir.File("locked.db");
  CheckSucceeds(dir.Run({"init", db}, kPassphraseEnv));
  RunResult r =
      dir.Run({"put", db, "customers", kZhangWei}, {{"FIELDSYNC_PASSPHRASE", kOtherPassphrase}});
  CheckFails(r, 3, "wrong_key");
  CHECK(r.out.empty());
  CHECK(r.err.find(kOtherPassphrase) == std::string::npos);
  RunResult pending = dir.Run({"pending", db}, kPassphraseEnv);
  CheckSucceeds(pending);
  CHECK(ParseOneJsonLine(pending.out).at("count") == 0);
}

TEST_CASE("FIELDSYNC_REGION sets the region of local phone numbers, and a malformed one exits 2") {
  TempDir dir;
  const std::string db = MakeRecordDb(dir);
  EnvVars us = kKeyHexEnv;
  us.emplace_back("FIELDSYNC_REGION", "us");
  const std::string id = Put(dir, db, "customers",
                             R"({"kind":"person","name":"Bob","phones":["(201) 555-0123"]})", us);
  const Json record = ParseOneJsonLine(dir.Run({"get", db, "customers", id}, kKeyHexEnv).out);
  CHECK(record.at("phones") == Json::array({"+12015550123"}));

  for (const char* value : {"", "USA", "C1"}) {
    EnvVars bad = kKeyHexEnv;
    bad.emplace_back("FIELDSYNC_REGION", value);
    RunResult r = dir.Run({"put", db, "customers", kZhangWei}, bad);
    CheckFails(r, 2, "usage");
    CHECK(r.err.find("FIELDSYNC_REGION") != std::string::npos);
  }
  CHECK(Pending(dir, db).at("count").get<int64_t>() == 1);
}

TEST_CASE("record commands work on a plain store, and maintenance commands on a database") {
  TempDir dir;
  // A file made by Store::Create alone (as init did before it made field-sales databases).
  const std::string plain = dir.File("plain.db");
  {
    uint8_t key[fieldsync::kKeySize];
    for (size_t i = 0; i < sizeof(key); ++i) key[i] = static_cast<uint8_t>(i);  // = kKeyHex
    fieldsync::RawKeyProvider provider(key, sizeof(key));
    fieldsync::Result<std::unique_ptr<fieldsync::Store>> store =
        fieldsync::Store::Create(plain, provider);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  }
  const std::string id = Put(dir, plain, "customers", kZhangWei);
  CheckSucceeds(dir.Run({"get", plain, "customers", id}, kKeyHexEnv));

  const std::string db = MakeRecordDb(dir);
  const std::string customer = Put(dir, db, "customers", kZhangWei);
  RunResult verify = dir.Run({"verify", db}, kKeyHexEnv);
  CheckSucceeds(verify);
  CHECK(ParseOneJsonLine(verify.out).at("integrity") == "ok");
  CheckSucceeds(dir.Run({"rekey", db}, kKeyHexEnv));
  CheckSucceeds(dir.Run(
      {"passwd", db}, {{"FIELDSYNC_KEY_HEX", kKeyHex}, {"FIELDSYNC_NEW_PASSPHRASE", kPassphrase}}));
  RunResult get = dir.Run({"get", db, "customers", customer}, kPassphraseEnv);
  CheckSucceeds(get);
  CHECK(ParseOneJsonLine(get.out).at("name") == "张伟");
  CheckSucceeds(dir.Run({"destroy", db}));
  CHECK_FALSE(fs::exists(db));
}

// --- sync, conflicts, resolve ------------------------------------------------------------------

namespace {

constexpr char kServerPassword[] = "s3rver-pw for the tablets";
constexpr char kSharedCustomer[] = "cust-minghui-0001";

// `fieldsync-server serve` on 127.0.0.1, port 0, as a subprocess; the destructor always stops it
// (SIGTERM, then SIGKILL if it has not exited within 5 s) and reaps it.
class ServerProcess {
 public:
  ServerProcess(TempDir& dir, const std::string& db) {
    const std::string out = dir.File("server.stdout");
    pid_ = TempDir::Spawn(kServer, {"serve", "--db", "sqlite:" + db, "--listen", "127.0.0.1:0"}, {},
                          out, dir.File("server.stderr"));
    const std::string prefix = "listening on 127.0.0.1:";
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      const std::string text = ReadWholeFile(out);
      const size_t at = text.find(prefix);
      const size_t eol = text.find('\n', at == std::string::npos ? 0 : at);
      if (at != std::string::npos && eol != std::string::npos) {
        port_ = std::stoi(text.substr(at + prefix.size(), eol - at - prefix.size()));
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL("fieldsync-server exited: " << ReadWholeFile(dir.File("server.stderr")));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE_MESSAGE(port_ > 0, "fieldsync-server printed no port");
  }
  ~ServerProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
};

void Admin(TempDir& dir, const std::string& server_db, const std::vector<std::string>& args,
           const EnvVars& env = {}) {
  std::vector<std::string> full = {"admin", "--db", "sqlite:" + server_db};
  full.insert(full.end(), args.begin(), args.end());
  CheckSucceeds(dir.RunProgram(kServer, full, env));
}

// Tenant minghui with team east1 and reps zhang and li in it, both with kServerPassword, and
// kSharedCustomer shared with east1 (so li sees zhang's customer).
std::string MakeServerDb(TempDir& dir) {
  const std::string db = dir.File("server.db");
  Admin(dir, db, {"create-tenant", "minghui", "明辉科技"});
  Admin(dir, db, {"add-team", "minghui", "east1", "华东一组"});
  for (const char* user : {"zhang", "li"}) {
    Admin(dir, db, {"add-user", "minghui", user, "rep", "--team", "east1"},
          {{"FIELDSYNC_PASSWORD", kServerPassword}});
  }
  Admin(dir, db, {"share-customer", "minghui", kSharedCustomer, "east1"});
  return db;
}

EnvVars SyncEnv(const std::string& user) {
  return {{"FIELDSYNC_KEY_HEX", kKeyHex},
          {"FIELDSYNC_USER", user},
          {"FIELDSYNC_PASSWORD", kServerPassword}};
}

Json Sync(TempDir& dir, const std::string& db, const std::string& user, const std::string& url) {
  RunResult r = dir.Run({"sync", db, "--server", url}, SyncEnv(user));
  CheckSucceeds(r);
  return ParseOneJsonLine(r.out);
}

std::vector<Json> ConflictsOf(TempDir& dir, const std::string& db) {
  RunResult r = dir.Run({"conflicts", db}, kKeyHexEnv);
  CheckSucceeds(r);
  return JsonLines(r.out);
}

// Sets the customer's notes through core, as the tablet app would.
void EditNotes(const std::string& db, const std::string& notes) {
  uint8_t key[fieldsync::kKeySize];
  for (size_t i = 0; i < sizeof(key); ++i) key[i] = static_cast<uint8_t>(i);  // = kKeyHex
  fieldsync::RawKeyProvider provider(key, sizeof(key));
  auto opened = fieldsync::Database::Open(db, provider);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  const fieldsync::Status s =
      (*opened)->Update("customers", kSharedCustomer, Json({{"notes", notes}}).dump());
  REQUIRE_MESSAGE(s.ok(), s.ToString());
}

// A loopback port nobody listens on (bound, then closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("sync, conflicts and resolve: two tablets converge through the real server") {
  TempDir dir;
  const std::string server_db = MakeServerDb(dir);
  ServerProcess server(dir, server_db);
  const std::string a = MakeRecordDb(dir, "zhang.db");
  const std::string b = MakeRecordDb(dir, "li.db");

  CHECK(Put(dir, a, "customers",
            Json({{"id", kSharedCustomer},
                  {"kind", "company"},
                  {"name", "明辉贸易有限公司"},
                  {"owner_rep", "zhang"},
                  {"notes", "老客户"}})
                .dump()) == kSharedCustomer);
  const Json first = Sync(dir, a, "zhang", server.url());
  CHECK(first.at("changes_pushed").get<int64_t>() >= 1);
  CHECK(first.at("changes_refused") == 0);
  CHECK(first.at("bytes_sent").get<int64_t>() > 0);
  CHECK(first.at("bytes_received").get<int64_t>() > 0);
  CHECK(first.at("pending_after") == 0);
  const Json pulled = Sync(dir, b, "li", server.url());
  CHECK(pulled.at("changes_pulled").get<int64_t>() >= 1);
  CHECK(pulled.at("pending_after") == 0);
  RunResult got = dir.Run({"get", b, "customers", kSharedCustomer}, kKeyHexEnv);
  CheckSucceeds(got);
  CHECK(ParseOneJsonLine(got.out).at("notes") == "老客户");
  CHECK(ConflictsOf(dir, a).empty());

  // Offline, both edit the notes (a review field); li's edit is later in HLC order (see
  // tests/sync/replicator_test.cc for why 50 ms is plenty).
  const std::string note_a = "张伟: 下周二拜访";
  const std::string note_b = "李娜: 客户要新报价";
  EditNotes(a, note_a);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EditNotes(b, note_b);
  for (int round = 0; round < 2; ++round) {
    Sync(dir, a, "zhang", server.url());
    Sync(dir, b, "li", server.url());
  }

  const std::vector<Json> on_a = ConflictsOf(dir, a);
  const std::vector<Json> on_b = ConflictsOf(dir, b);
  REQUIRE(on_a.size() == 1);
  REQUIRE(on_b.size() == 1);
  CHECK(on_a[0] == on_b[0]);
  const Json& conflict = on_a[0];
  CHECK(conflict.at("collection") == "customers");
  CHECK(conflict.at("record_id") == kSharedCustomer);
  CHECK(conflict.at("field") == "notes");
  const std::string conflict_id = conflict.at("id").get<std::string>();
  CHECK_FALSE(conflict_id.empty());
  const Json& heads = conflict.at("heads");
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].at("value") == note_b);  // shown value (the later edit) first
  CHECK(heads[1].at("value") == note_a);
  CHECK(heads[0].at("author") == "li");
  CHECK(heads[1].at("author") == "zhang");
  CHECK(heads[0].at("hlc").get<uint64_t>() > heads[1].at("hlc").get<uint64_t>());
  CHECK(heads[0].at("node") != heads[1].at("node"));
  const std::string time = heads[0].at("time").get<std::string>();
  CHECK(time.size() == std::string("2026-11-23T06:39:31.123Z").size());
  CHECK(time.substr(0, 10) == TodayUtc());
  CHECK(time.back() == 'Z');
  got = dir.Run({"get", a, "customers", kSharedCustomer}, kKeyHexEnv);
  CheckSucceeds(got);
  CHECK(ParseOneJsonLine(got.out).at("notes") == note_b);

  // Bad resolutions change nothing.
  CheckFails(dir.Run({"resolve", a, "no-such-conflict", "\"x\""}, kKeyHexEnv), 1, "not_found");
  CheckFails(dir.Run({"resolve", a, conflict_id, "not json"}, kKeyHexEnv), 6, "invalid_argument");
  CheckFails(dir.Run({"resolve", a, conflict_id, "42"}, kKeyHexEnv), 6, "invalid_argument");
  CHECK(Pending(dir, a).at("count") == 0);

  // zhang resolves on his tablet; once both have synced the conflict is closed everywhere.
  const std::string merged = "合并: 下周二拜访, 带新报价";
  RunResult resolved = dir.Run({"resolve", a, conflict_id, Json(merged).dump()}, kKeyHexEnv);
  CheckSucceeds(resolved);
  CHECK(resolved.out.empty());
  CHECK(Pending(dir, a).at("count") == 1);
  const Json pushed = Sync(dir, a, "zhang", server.url());
  CHECK(pushed.at("changes_pushed") == 1);
  CHECK(pushed.at("pending_after") == 0);
  Sync(dir, b, "li", server.url());
  Sync(dir, a, "zhang", server.url());
  for (const std::string& db : {a, b}) {
    CHECK(ConflictsOf(dir, db).empty());
    got = dir.Run({"get", db, "customers", kSharedCustomer}, kKeyHexEnv);
    CheckSucceeds(got);
    CHECK(ParseOneJsonLine(got.out).at("notes") == merged);
  }
  // The closed conflict can no longer be resolved.
  CheckFails(dir.Run({"resolve", b, conflict_id, "\"late\""}, kKeyHexEnv), 1, "not_found");
}

namespace {

// One request to the server over libcurl (the back office has no tablet); the response body.
Json Call(const std::string& method, const std::string& url, const std::string& token,
          const Json& body, int expect_status = 200) {
  fieldsync::HttpClientOptions options;
  options.proxy = "";
  std::unique_ptr<fieldsync::HttpClient> http = fieldsync::NewCurlHttpClient(options);
  fieldsync::HttpRequest request;
  request.method = method;
  request.url = url;
  if (!token.empty()) request.headers.Add("Authorization", "Bearer " + token);
  if (method == "POST") {
    request.headers.Add("Content-Type", "application/json");
    request.body = body.dump();
  }
  auto response = http->Send(request);
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  REQUIRE_MESSAGE(response->status == expect_status, response->body);
  return Json::parse(response->body);
}

}  // namespace

TEST_CASE(
    "a conflict resolved in the back office closes on both tablets, and admin audit shows it") {
  TempDir dir;
  const std::string server_db = MakeServerDb(dir);
  Admin(dir, server_db, {"add-user", "minghui", "boss", "admin"},
        {{"FIELDSYNC_PASSWORD", kServerPassword}});
  ServerProcess server(dir, server_db);
  const std::string a = MakeRecordDb(dir, "zhang.db");
  const std::string b = MakeRecordDb(dir, "li.db");
  CHECK(Put(dir, a, "customers",
            Json({{"id", kSharedCustomer},
                  {"kind", "company"},
                  {"name", "明辉贸易有限公司"},
                  {"owner_rep", "zhang"}})
                .dump()) == kSharedCustomer);
  Sync(dir, a, "zhang", server.url());
  Sync(dir, b, "li", server.url());
  const std::string note_a = "张伟: 下周二拜访";
  const std::string note_b = "李娜: 客户要新报价";
  EditNotes(a, note_a);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EditNotes(b, note_b);
  for (int round = 0; round < 2; ++round) {
    Sync(dir, a, "zhang", server.url());
    Sync(dir, b, "li", server.url());
  }
  const std::vector<Json> on_a = ConflictsOf(dir, a);
  REQUIRE(on_a.size() == 1);

  // The back office: an admin logs in from a browser, not a tablet, lists and resolves.
  const Json login =
      Call("POST", server.url() + "/v1/login", "",
           {{"user", "boss"},
            {"password", kServerPassword},
            {"device", {{"name", "后台"}, {"platform", "web"}, {"id", "backoffice-1"}}}});
  const std::string token = login.at("token");
  const Json listed = Call("GET", server.url() + "/v1/conflicts", token, nullptr);
  REQUIRE(listed.at("conflicts").size() == 1);
  const std::string id = listed.at("conflicts")[0].at("id");
  CHECK(id == on_a[0].at("id"));  // the same id on the server and on every tablet
  const std::string merged = "后台合并: 周二拜访, 带新报价";
  const Json resolved =
      Call("POST", server.url() + "/v1/conflicts/" + id + "/resolve", token, {{"value", merged}});
  CHECK(resolved.at("record").at("notes") == merged);
  CHECK(resolved.at("conflicts").empty());

  // Each tablet's next sync pulls the resolution, an edit like any other: closed everywhere.
  Sync(dir, a, "zhang", server.url());
  Sync(dir, b, "li", server.url());
  for (const std::string& db : {a, b}) {
    CAPTURE(db);
    CHECK(ConflictsOf(dir, db).empty());
    RunResult got = dir.Run({"get", db, "customers", kSharedCustomer}, kKeyHexEnv);
    CheckSucceeds(got);
    CHECK(ParseOneJsonLine(got.out).at("notes") == merged);
  }
  Call("POST", server.url() + "/v1/conflicts/" + id + "/resolve", token, {{"value", "again"}}, 404);

  // The audit trail of the record, and of a user: JSON lines, oldest first, no values.
  auto audit = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"admin", "--db", "sqlite:" + server_db, "audit"};
    full.insert(full.end(), args.begin(), args.end());
    RunResult r = dir.RunProgram(kServer, full, {});
    CheckSucceeds(r);
    for (const std::string& value : {note_a, note_b, merged, std::string(kServerPassword)}) {
      CHECK(r.out.find(value) == std::string::npos);
    }
    return JsonLines(r.out);
  };
  const std::vector<Json> trail =
      audit({"minghui", "--record", std::string("customers/") + kSharedCustomer});
  std::vector<std::string> who_did;
  for (const Json& line : trail) {
    who_did.push_back(line.at("user").get<std::string>() + " " +
                      line.at("action").get<std::string>());
    CHECK(line.at("collection") == "customers");
    CHECK(line.at("record_id") == kSharedCustomer);
    CHECK(line.at("time").get<std::string>().substr(0, 10) == TodayUtc());
  }
  CHECK(who_did == std::vector<std::string>{"cli admin.share_customer", "zhang change.upsert",
                                            "zhang change.upsert", "li change.upsert",
                                            "boss conflict.resolve"});
  const Json& resolution = trail.back();
  CHECK(resolution.at("device") == "backoffice-1");
  CHECK(resolution.at("fields") == Json::array({"notes"}));
  CHECK(resolution.at("detail").at("conflict") == id);
  CHECK(resolution.at("change_id") == resolved.at("change_id"));
  CHECK(trail[1].at("device") != trail[3].at("device"));  // each tablet's own node id

  const std::vector<Json> boss = audit({"minghui", "--user", "boss"});
  REQUIRE(boss.size() == 2);
  CHECK(boss[0].at("action") == "login");
  CHECK(boss[1].at("action") == "conflict.resolve");
  CHECK(audit({"minghui", "--user", "li", "--record", std::string("customers/") + kSharedCustomer})
            .size() == 1);
  const std::vector<Json> account = audit({"minghui", "--record", "user/zhang"});
  REQUIRE(account.size() == 1);
  CHECK(account[0].at("action") == "admin.add_user");
  CHECK(account[0].at("detail") == Json({{"role", "rep"}, {"teams", {"east1"}}}));
  CHECK(audit({"minghui", "--user", "nobody"}).empty());

  // Usage: a tenant is required, --record is COLLECTION/ID; an unknown tenant is not_found.
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"admin", "--db", "sqlite:" + server_db, "audit"};
    full.insert(full.end(), args.begin(), args.end());
    return dir.RunProgram(kServer, full, {});
  };
  CheckFails(run({}), 2, "usage");
  CheckFails(run({"minghui", "--record", "customers"}), 2, "usage");
  CheckFails(run({"minghui", "--user"}), 2, "usage");
  CheckFails(run({"minghui", "--team", "east1"}), 2, "usage");
  CheckFails(run({"no-such-tenant"}), 1, "not_found");
}

TEST_CASE("sync takes credentials only from the environment and reports server failures") {
  TempDir dir;
  const std::string server_db = MakeServerDb(dir);
  ServerProcess server(dir, server_db);
  const std::string db = MakeRecordDb(dir, "zhang.db");
  Put(dir, db, "customers", kZhangWei);

  // Missing credentials: usage, before the database is opened or the server contacted.
  for (const char* missing : {"FIELDSYNC_USER", "FIELDSYNC_PASSWORD"}) {
    EnvVars env;
    for (const auto& var : SyncEnv("zhang")) {
      if (var.first != missing) env.push_back(var);
    }
    RunResult r = dir.Run({"sync", db, "--server", server.url()}, env);
    CheckFails(r, 2, "usage");
    CHECK(ErrorLine(r).find(missing) != std::string::npos);
    CHECK(r.out.empty());
  }
  // No --server, a password option or credentials in the URL: usage, never echoed.
  CheckFails(dir.Run({"sync", db}, SyncEnv("zhang")), 2, "usage");
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"sync", db, "--server", server.url(), "--password=hunter2"},
           {"sync", db, "--server", "http://zhang:hunter2@127.0.0.1:1"},
           {"sync", db, "--server", server.url(), "--server", server.url()},
       }) {
    RunResult r = dir.Run(args, SyncEnv("zhang"));
    CheckFails(r, 2, "usage");
    CHECK(r.err.find("hunter2") == std::string::npos);
  }
  CHECK(Pending(dir, db).at("count") == 1);

  // A wrong password: exit 1, the login's 401 on the error line, the password nowhere.
  EnvVars wrong = SyncEnv("zhang");
  wrong.back().second = "not-the-password";
  RunResult r = dir.Run({"sync", db, "--server", server.url()}, wrong);
  CheckFails(r, 1, "failed_precondition");
  CHECK(ErrorLine(r).find("401") != std::string::npos);
  CHECK(r.err.find("not-the-password") == std::string::npos);
  CHECK(r.out.empty());

  // Nobody listening: unavailable, exit 1; the outbox is kept for the next round.
  r = dir.Run({"sync", db, "--server", "http://127.0.0.1:" + std::to_string(ClosedPort())},
              SyncEnv("zhang"));
  CheckFails(r, 1, "unavailable");
  CHECK(r.out.empty());
  CHECK(Pending(dir, db).at("count") == 1);

  // The --server=URL form works too, and the password never reaches stdout or stderr.
  r = dir.Run({"sync", db, "--server=" + server.url()}, SyncEnv("zhang"));
  CheckSucceeds(r);
  CHECK(ParseOneJsonLine(r.out).at("pending_after") == 0);
  CHECK((r.out + r.err).find(kServerPassword) == std::string::npos);
}

// --- fieldsync-server admin: devices and passwords (issue #6) ----------------------------------

namespace {

RunResult ServerAdmin(TempDir& dir, const std::string& server_db,
                      const std::vector<std::string>& args, const EnvVars& env = {}) {
  std::vector<std::string> full = {"admin", "--db", "sqlite:" + server_db};
  full.insert(full.end(), args.begin(), args.end());
  return dir.RunProgram(kServer, full, env);
}

}  // namespace

TEST_CASE("server admin: list-devices and revoke-device, and the revoked tablet's sync erases it") {
  TempDir dir;
  const std::string server_db = MakeServerDb(dir);
  RunResult none = ServerAdmin(dir, server_db, {"list-devices", "minghui"});
  CheckSucceeds(none);
  CHECK(none.out.empty());
  CheckFails(ServerAdmin(dir, server_db, {"list-devices", "nobody"}), 1, "not_found");
  CheckFails(ServerAdmin(dir, server_db, {"list-devices"}), 2, "usage");

  ServerProcess server(dir, server_db);
  const std::string db = MakeRecordDb(dir, "zhang.db");
  Put(dir, db, "customers", R"({"kind":"person","name":"王芳","owner_rep":"zhang"})");
  CheckSucceeds(dir.Run({"sync", db, "--server", server.url()}, SyncEnv("zhang")));
  Put(dir, db, "customers", R"({"kind":"person","name":"刘洋","owner_rep":"zhang"})");

  RunResult listed = ServerAdmin(dir, server_db, {"list-devices", "minghui"});
  CheckSucceeds(listed);
  std::vector<Json> devices = JsonLines(listed.out);
  REQUIRE(devices.size() == 1);
  const Json& d = devices[0];
  CHECK(d.at("user") == "zhang");
  CHECK(d.at("name") == "fieldsync-cli");
  CHECK(d.at("platform") == "cli");
  CHECK(d.at("status") == "active");
  CHECK(d.at("registered").is_string());
  CHECK(d.at("last_sync").get<std::string>().size() == 24);  // 2024-11-23T06:39:31.123Z
  CHECK(d.at("pending") == 0);
  CHECK(d.at("revoked").is_null());
  CHECK(d.at("wiped").is_null());
  const std::string device = d.at("device").get<std::string>();

  CheckFails(ServerAdmin(dir, server_db, {"revoke-device", "minghui", "no-such-device"}), 1,
             "not_found");
  CheckFails(ServerAdmin(dir, server_db, {"revoke-device", "other", device}), 1, "not_found");
  CheckFails(ServerAdmin(dir, server_db, {"revoke-device", "minghui"}), 2, "usage");
  CheckSucceeds(ServerAdmin(dir, server_db, {"revoke-device", "minghui", device}));
  Json revoked = ParseOneJsonLine(ServerAdmin(dir, server_db, {"list-devices", "minghui"}).out);
  CHECK(revoked.at("status") == "revoked");
  CHECK(revoked.at("revoked").is_string());

  // The tablet's next contact: told to erase, it does, says so, and prints no progress.
  RunResult r = dir.Run({"sync", db, "--server", server.url()}, SyncEnv("zhang"));
  CheckFails(r, 1, "device_revoked");
  CHECK(ErrorLine(r).find("erased") != std::string::npos);
  CHECK(r.out.empty());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CAPTURE(suffix);
    CHECK_FALSE(fs::exists(db + suffix));
  }
  Json wiped = ParseOneJsonLine(ServerAdmin(dir, server_db, {"list-devices", "minghui"}).out);
  CHECK(wiped.at("status") == "wiped");
  CHECK(wiped.at("wiped").is_string());

  // A new database is a new device: the user is not locked out.
  const std::string fresh = MakeRecordDb(dir, "zhang-new.db");
  CheckSucceeds(dir.Run({"sync", fresh, "--server", server.url()}, SyncEnv("zhang")));
  CHECK(JsonLines(ServerAdmin(dir, server_db, {"list-devices", "minghui"}).out).size() == 2);
}

TEST_CASE("server admin: reset-password takes the password only from FIELDSYNC_PASSWORD") {
  TempDir dir;
  const std::string server_db = MakeServerDb(dir);
  const std::string new_password = "a brand new 密码 for zhang";
  const EnvVars new_env = {{"FIELDSYNC_PASSWORD", new_password}};
  CheckFails(ServerAdmin(dir, server_db, {"reset-password", "minghui", "zhang"}), 6,
             "invalid_argument");
  RunResult argv = ServerAdmin(
      dir, server_db, {"reset-password", "minghui", "zhang", "--password=hunter2"}, new_env);
  CheckFails(argv, 2, "usage");
  CHECK(argv.err.find("hunter2") == std::string::npos);
  CheckFails(ServerAdmin(dir, server_db, {"reset-password", "minghui", "nobody"}, new_env), 1,
             "not_found");
  CheckFails(ServerAdmin(dir, server_db, {"reset-password", "minghui", "zhang"},
                         {{"FIELDSYNC_PASSWORD", "short"}}),
             6, "invalid_argument");

  ServerProcess server(dir, server_db);
  const std::string db = MakeRecordDb(dir, "zhang.db");
  CheckSucceeds(dir.Run({"sync", db, "--server", server.url()}, SyncEnv("zhang")));
  CheckSucceeds(ServerAdmin(dir, server_db, {"reset-password", "minghui", "zhang"}, new_env));
  RunResult old = dir.Run({"sync", db, "--server", server.url()}, SyncEnv("zhang"));
  CheckFails(old, 1, "failed_precondition");
  CHECK(ErrorLine(old).find("401") != std::string::npos);
  EnvVars fresh = SyncEnv("zhang");
  fresh.back().second = new_password;
  CheckSucceeds(dir.Run({"sync", db, "--server", server.url()}, fresh));
  // Another user is untouched.
  CheckSucceeds(
      dir.Run({"sync", MakeRecordDb(dir, "li.db"), "--server", server.url()}, SyncEnv("li")));
}
