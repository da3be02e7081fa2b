// Tests for fieldsync/env.h against the real file system, each in a fresh temporary directory.
//
// Fixtures are written and inspected with the standard library rather than through Env, so a bug
// in Env cannot hide itself by being consistent with its own reads.
#include "fieldsync/env.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fieldsync {
namespace {

// A directory created with mkdtemp and removed, with everything in it, at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/fieldsync-platform-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(::mkdtemp(buf.data()) != nullptr);
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFixture(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out.good());
  out << contents;
  out.close();
  REQUIRE(out.good());
}

std::string ReadFixture(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_CASE("Env::Default returns one shared instance") {
  REQUIRE(Env::Default() != nullptr);
  CHECK(Env::Default() == Env::Default());
}

TEST_CASE("FileExists tells existing files from missing ones") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("a"), "x");
  CHECK(env->FileExists(dir.Join("a")));
  CHECK_FALSE(env->FileExists(dir.Join("b")));
  CHECK(env->FileExists(dir.path()));
}

TEST_CASE("FileSize reports the byte count and NotFound for a missing file") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("a"), std::string(1234, 'z'));
  WriteFixture(dir.Join("empty"), "");
  Result<uint64_t> size = env->FileSize(dir.Join("a"));
  REQUIRE(size.ok());
  CHECK(*size == 1234);
  Result<uint64_t> empty = env->FileSize(dir.Join("empty"));
  REQUIRE(empty.ok());
  CHECK(*empty == 0);

  Result<uint64_t> missing = env->FileSize(dir.Join("missing"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().IsNotFound());
  CHECK(missing.status().message().find(dir.Join("missing")) != std::string::npos);
}

TEST_CASE("ReadFile returns binary contents larger than one read buffer") {
  TempDir dir;
  std::string contents;
  for (int i = 0; i < 200000; ++i) contents.push_back(static_cast<char>(i * 31 % 256));
  WriteFixture(dir.Join("big"), contents);
  Result<std::string> r = Env::Default()->ReadFile(dir.Join("big"));
  REQUIRE(r.ok());
  CHECK(r->size() == contents.size());
  CHECK(*r == contents);

  WriteFixture(dir.Join("empty"), "");
  Result<std::string> e = Env::Default()->ReadFile(dir.Join("empty"));
  REQUIRE(e.ok());
  CHECK(e->empty());
}

TEST_CASE("ReadFile of a missing file is NotFound and names the path") {
  TempDir dir;
  Result<std::string> r = Env::Default()->ReadFile(dir.Join("nope"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsNotFound());
  CHECK(r.status().message().find(dir.Join("nope")) != std::string::npos);
}

TEST_CASE("ReadFile of a directory is an IOError") {
  TempDir dir;
  Result<std::string> r = Env::Default()->ReadFile(dir.path());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsIOError());
}

TEST_CASE("ReadFileRange reads the middle and comes up short only at end of file") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("f"), "0123456789");

  Result<std::string> mid = env->ReadFileRange(dir.Join("f"), 2, 3);
  REQUIRE(mid.ok());
  CHECK(*mid == "234");

  Result<std::string> tail = env->ReadFileRange(dir.Join("f"), 7, 100);
  REQUIRE(tail.ok());
  CHECK(*tail == "789");

  Result<std::string> at_eof = env->ReadFileRange(dir.Join("f"), 10, 5);
  REQUIRE(at_eof.ok());
  CHECK(at_eof->empty());

  Result<std::string> past_eof = env->ReadFileRange(dir.Join("f"), 1000, 5);
  REQUIRE(past_eof.ok());
  CHECK(past_eof->empty());

  Result<std::string> zero = env->ReadFileRange(dir.Join("f"), 0, 0);
  REQUIRE(zero.ok());
  CHECK(zero->empty());
}

TEST_CASE("ReadFileRange with a length far beyond the file returns only the file's bytes") {
  TempDir dir;
  WriteFixture(dir.Join("f"), "abc");
  // A terabyte request must be served without trying to allocate a terabyte.
  const size_t huge = size_t{1} << 40;
  Result<std::string> all = Env::Default()->ReadFileRange(dir.Join("f"), 0, huge);
  REQUIRE(all.ok());
  CHECK(*all == "abc");
  Result<std::string> past = Env::Default()->ReadFileRange(dir.Join("f"), 1000, huge);
  REQUIRE(past.ok());
  CHECK(past->empty());
}

TEST_CASE("ReadFileRange of a missing file is NotFound") {
  TempDir dir;
  Result<std::string> r = Env::Default()->ReadFileRange(dir.Join("nope"), 0, 4);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsNotFound());
}

TEST_CASE("ReadFileRange refuses an offset beyond what a file offset can hold") {
  TempDir dir;
  WriteFixture(dir.Join("f"), "abc");
  Result<std::string> r = Env::Default()->ReadFileRange(dir.Join("f"), ~uint64_t{0}, 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("WriteFileRange overwrites in place and extends past the end") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("f"), "0123456789");
  REQUIRE(env->WriteFileRange(dir.Join("f"), 3, "abc").ok());
  CHECK(ReadFixture(dir.Join("f")) == "012abc6789");
  REQUIRE(env->WriteFileRange(dir.Join("f"), 8, "XYZ").ok());
  CHECK(ReadFixture(dir.Join("f")) == "012abc67XYZ");
}

TEST_CASE("WriteFileRange does not create a missing file") {
  TempDir dir;
  Status s = Env::Default()->WriteFileRange(dir.Join("nope"), 0, "data");
  CHECK(s.IsNotFound());
  CHECK_FALSE(std::filesystem::exists(dir.Join("nope")));
}

TEST_CASE("WriteFileAtomic creates a file and replaces its contents leaving no temporaries") {
  TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.Join("state");
  REQUIRE(env->WriteFileAtomic(path, "a long first version of the contents").ok());
  CHECK(ReadFixture(path) == "a long first version of the contents");
  REQUIRE(env->WriteFileAtomic(path, "short").ok());
  CHECK(ReadFixture(path) == "short");
  REQUIRE(env->WriteFileAtomic(path, "").ok());
  CHECK(ReadFixture(path).empty());

  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"state"});
}

TEST_CASE("WriteFileAtomic keeps the permissions of the file it replaces") {
  TempDir dir;
  const std::string path = dir.Join("private");
  WriteFixture(path, "old");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  REQUIRE(Env::Default()->WriteFileAtomic(path, "new").ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(ReadFixture(path) == "new");
}

TEST_CASE("WriteFileAtomic into a missing directory is NotFound") {
  TempDir dir;
  Status s = Env::Default()->WriteFileAtomic(dir.Join("no/such/dir/file"), "x");
  CHECK(s.IsNotFound());
}

TEST_CASE("a failed WriteFileAtomic leaves no temporary file behind") {
  TempDir dir;
  // rename(2) cannot replace a non-empty directory, so the write fails after the temporary exists.
  REQUIRE(std::filesystem::create_directory(dir.Join("target")));
  WriteFixture(dir.Join("target/keep"), "x");
  Status s = Env::Default()->WriteFileAtomic(dir.Join("target"), "data");
  CHECK(s.IsIOError());
  CHECK(s.message().find(dir.Join("target")) != std::string::npos);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"target"});
}

TEST_CASE("RenameFile moves a file and replaces an existing target") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("from"), "new");
  WriteFixture(dir.Join("to"), "old");
  REQUIRE(env->RenameFile(dir.Join("from"), dir.Join("to")).ok());
  CHECK_FALSE(std::filesystem::exists(dir.Join("from")));
  CHECK(ReadFixture(dir.Join("to")) == "new");
}

TEST_CASE("RenameFile of a missing file is NotFound") {
  TempDir dir;
  Status s = Env::Default()->RenameFile(dir.Join("from"), dir.Join("to"));
  CHECK(s.IsNotFound());
  CHECK(s.message().find(dir.Join("from")) != std::string::npos);
}

TEST_CASE("RemoveFile deletes once and then reports NotFound") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("f"), "x");
  REQUIRE(env->RemoveFile(dir.Join("f")).ok());
  CHECK_FALSE(std::filesystem::exists(dir.Join("f")));
  Status again = env->RemoveFile(dir.Join("f"));
  CHECK(again.IsNotFound());
  CHECK(again.message().find(dir.Join("f")) != std::string::npos);
}

TEST_CASE("SyncFile succeeds on a file and is NotFound for a missing one") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("f"), "x");
  CHECK(env->SyncFile(dir.Join("f")).ok());
  CHECK(env->SyncFile(dir.Join("missing")).IsNotFound());
}

TEST_CASE("SyncDir succeeds on a directory and fails for a missing one or a file") {
  TempDir dir;
  Env* env = Env::Default();
  CHECK(env->SyncDir(dir.path()).ok());
  CHECK(env->SyncDir(dir.Join("missing")).IsNotFound());
  WriteFixture(dir.Join("f"), "x");
  Status on_file = env->SyncDir(dir.Join("f"));
  CHECK_FALSE(on_file.ok());
  CHECK(on_file.IsIOError());
}

TEST_CASE("CreateDir creates missing parents and accepts an existing directory") {
  TempDir dir;
  Env* env = Env::Default();
  const std::string nested = dir.Join("a/b/c");
  REQUIRE(env->CreateDir(nested).ok());
  CHECK(std::filesystem::is_directory(nested));
  CHECK(env->CreateDir(nested).ok());
  CHECK(env->CreateDir(dir.Join("a/b/c/")).ok());
  CHECK(env->CreateDir(dir.path()).ok());
}

TEST_CASE("CreateDir refuses when a file is in the way") {
  TempDir dir;
  Env* env = Env::Default();
  WriteFixture(dir.Join("f"), "x");
  Status s = env->CreateDir(dir.Join("f"));
  CHECK(s.code() == StatusCode::kAlreadyExists);
  CHECK_FALSE(env->CreateDir(dir.Join("f/sub")).ok());
  CHECK(env->CreateDir("").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("ListDir returns sorted names without dot entries") {
  TempDir dir;
  Env* env = Env::Default();
  Result<std::vector<std::string>> empty = env->ListDir(dir.path());
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  for (const char* name : {"zeta", "alpha", "Mid", "beta.db", "beta.db-wal"}) {
    WriteFixture(dir.Join(name), "x");
  }
  REQUIRE(std::filesystem::create_directory(dir.Join("sub")));
  Result<std::vector<std::string>> names = env->ListDir(dir.path());
  REQUIRE(names.ok());
  CHECK(*names ==
        std::vector<std::string>{"Mid", "alpha", "beta.db", "beta.db-wal", "sub", "zeta"});
}

TEST_CASE("ListDir of a missing directory is NotFound") {
  TempDir dir;
  Result<std::vector<std::string>> r = Env::Default()->ListDir(dir.Join("missing"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsNotFound());
}

TEST_CASE("AbsolutePath keeps absolute paths and resolves relative ones against the cwd") {
  Env* env = Env::Default();
  Result<std::string> abs = env->AbsolutePath("/var/lib/x.db");
  REQUIRE(abs.ok());
  CHECK(*abs == "/var/lib/x.db");

  const std::string cwd = std::filesystem::current_path().string();
  Result<std::string> rel = env->AbsolutePath("data/x.db");
  REQUIRE(rel.ok());
  CHECK(*rel == (cwd == "/" ? "/data/x.db" : cwd + "/data/x.db"));

  CHECK(env->AbsolutePath("").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("SleepMicros sleeps at least as long as asked and returns at once for zero") {
  Env* env = Env::Default();
  auto start = std::chrono::steady_clock::now();
  env->SleepMicros(20000);
  auto slept = std::chrono::steady_clock::now() - start;
  CHECK(slept >= std::chrono::microseconds(20000));

  start = std::chrono::steady_clock::now();
  env->SleepMicros(0);
  env->SleepMicros(-5);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("DirName follows dirname semantics") {
  CHECK(DirName("a/b") == "a");
  CHECK(DirName("/a/b/c.db") == "/a/b");
  CHECK(DirName("file") == ".");
  CHECK(DirName("") == ".");
  CHECK(DirName("/") == "/");
  CHECK(DirName("/file") == "/");
  CHECK(DirName("a/b/") == "a");
  CHECK(DirName("a//b") == "a");
  CHECK(DirName("a/") == ".");
}

}  // namespace
}  // namespace fieldsync
