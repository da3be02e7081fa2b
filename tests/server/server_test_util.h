// tests/server/server_test_util.h: a temporary database with one tenant, its teams and users,
// and helpers to build changes. Passwords use a cheap scrypt cost (2^10) so tests stay fast.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admin.h"
#include "backend.h"
#include "sqlite_backend.h"
#include "sync_service.h"

namespace fieldsync::server::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "fs-server-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline constexpr char kTenant[] = "minghui";
inline constexpr char kPassword[] = "correct horse 电池 staple";
inline constexpr int64_t kNowMs = 1732343971123;  // 2024-11-23T06:39:31.123Z

// Tenant "minghui"; teams east1 (华东一组) and east2 (华东二组);
// reps zhang and li in east1, rep wang in east2, manager chen of east1, admin boss.
struct World {
  TempDir dir;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<SyncService> service;

  explicit World(ServiceOptions options = {}) {
    Result<std::unique_ptr<Backend>> b = OpenBackend("sqlite:" + dir.File("server.db"));
    REQUIRE(b.ok());
    backend = std::move(*b);
    REQUIRE(AdminCreateTenant(backend.get(), kTenant, "明辉科技").ok());
    REQUIRE(AdminCreateTenant(backend.get(), "other", "别的公司").ok());
    REQUIRE(AdminAddTeam(backend.get(), kTenant, "east1", "华东一组").ok());
    REQUIRE(AdminAddTeam(backend.get(), kTenant, "east2", "华东二组").ok());
    PasswordParams fast;
    fast.log2_n = 10;
    auto add = [&](const char* user, const char* role, std::vector<std::string> teams) {
      REQUIRE(AdminAddUser(backend.get(), kTenant, user, role, teams, kPassword, fast).ok());
    };
    add("zhang", "rep", {"east1"});
    add("li", "rep", {"east1"});
    add("wang", "rep", {"east2"});
    add("chen", "manager", {"east1"});
    add("boss", "admin", {});
    if (!options.now_ms) options.now_ms = [] { return kNowMs; };
    service = std::make_unique<SyncService>(backend.get(), Schema::FieldSales(), options);
  }

  // A principal as Authenticate would build it, on device "dev-<user>".
  Principal As(const std::string& user) const {
    Result<std::unique_ptr<BackendSession>> s = backend->OpenSession();
    REQUIRE(s.ok());
    Result<UserRow> u = (*s)->GetUser(kTenant, user);
    REQUIRE(u.ok());
    return Principal{kTenant, user, "dev-" + user, u->role, u->teams, u->scope_epoch};
  }
};

inline uint64_t HlcAt(int64_t ms, uint64_t logical = 0) {
  return Hlc::FromParts(static_cast<uint64_t>(ms), logical).packed();
}

inline sync::Change Upsert(const std::string& id, const std::string& collection,
                           const std::string& record,
                           std::vector<std::pair<std::string, nlohmann::json>> fields,
                           const std::string& node, uint64_t hlc) {
  sync::Change c;
  c.change_id = id;
  c.collection = collection;
  c.record_id = record;
  c.version = sync::Version{Hlc(hlc), node};
  for (auto& [name, value] : fields) c.fields[name].value = value;
  return c;
}

// A customer owned by `owner`, pushed from `owner`'s device.
inline sync::Change Customer(const std::string& id, const std::string& record,
                             const std::string& name, const std::string& owner, uint64_t hlc) {
  return Upsert(id, "customers", record,
                {{"kind", "company"}, {"name", name}, {"owner_rep", owner}}, "dev-" + owner, hlc);
}

inline sync::PushRequest Push(const std::string& node, std::vector<sync::Change> changes) {
  sync::PushRequest p;
  p.node = node;
  p.schema_version = 1;
  p.changes = std::move(changes);
  return p;
}

}  // namespace fieldsync::server::testing
