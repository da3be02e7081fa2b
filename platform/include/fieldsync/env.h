// fieldsync/env.h: the operating-system boundary for files and directories.
//
// An Env is how every layer above platform/ reaches the file system, in the spirit of LevelDB's
// Env: core/, sync/, server/ and tools/ include no OS headers. Env::Default() is the POSIX
// implementation; tests subclass Env (or wrap Default()) to inject faults.
//
// SQLite's own file I/O goes through SQLite's native VFS, wrapped by core's encryption shim; Env
// covers the files fieldsync manages itself (temporary files of a key rotation, directory syncs,
// deleting a database's files).
//
// Thread safety: every Env implementation is safe for concurrent use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/status.h"

namespace fieldsync {

class Env {
 public:
  virtual ~Env();

  // The process-wide POSIX Env. Never destroyed.
  static Env* Default();

  virtual bool FileExists(const std::string& path) = 0;
  // NotFound if the file does not exist.
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Reads up to n bytes at offset; fewer only at end of file.
  virtual Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, size_t n) = 0;
  // Writes data at offset in an existing file and fsyncs it.
  virtual Status WriteFileRange(const std::string& path, uint64_t offset,
                                std::string_view data) = 0;
  // Replaces the file's contents atomically: writes a temporary sibling, fsyncs it, renames it
  // over path, then fsyncs the directory. A crash leaves either the old or the new contents.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  // rename(2); atomic replacement of `to` on POSIX file systems. Does not sync the directory.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // NotFound if the file does not exist.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Opens the file, fsyncs its data and metadata, closes it.
  virtual Status SyncFile(const std::string& path) = 0;
  // fsyncs a directory so that creations, renames and deletions in it are durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Creates the directory and any missing parents; OK if it exists.
  virtual Status CreateDir(const std::string& path) = 0;
  // Names (not paths) of the entries in dir, excluding "." and "..", sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Absolute form of path (relative paths resolved against the working directory).
  virtual Result<std::string> AbsolutePath(const std::string& path) = 0;
  virtual void SleepMicros(int64_t micros) = 0;
};

// The directory part of a path ("." when it has none).
std::string DirName(const std::string& path);

}  // namespace fieldsync
