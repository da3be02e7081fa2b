// bench/storage_workload.cc: customer-row generator and the five storage workloads (see the
// header).
//
// Compiled once per benchmark binary against that binary's SQLite (sqlite_api.h); uses nothing but
// the SQLite C API, the C++ standard library and, for --drop-os-cache, posix_fadvise.
#include "storage_workload.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <system_error>

namespace fieldsync::bench {
namespace {

// splitmix64: tiny, fast, and the same sequence in every build (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Modulo bias is below 2^-40 for the small n used here.
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
  template <typename T, size_t N>
  const T& Pick(const T (&list)[N]) {
    return list[Below(static_cast<uint32_t>(N))];
  }

 private:
  uint64_t state_;
};

struct Syllable {
  const char* hanzi;
  const char* pinyin;
};

// The most common surnames and given names; many real contacts share these exact names.
constexpr Syllable kSurnames[] = {
    {"张", "zhang"}, {"王", "wang"},  {"李", "li"},   {"刘", "liu"},  {"陈", "chen"},
    {"杨", "yang"},  {"黄", "huang"}, {"赵", "zhao"}, {"吴", "wu"},   {"周", "zhou"},
    {"徐", "xu"},    {"孙", "sun"},   {"马", "ma"},   {"朱", "zhu"},  {"胡", "hu"},
    {"郭", "guo"},   {"何", "he"},    {"林", "lin"},  {"罗", "luo"},  {"高", "gao"},
    {"郑", "zheng"}, {"梁", "liang"}, {"谢", "xie"},  {"宋", "song"}, {"唐", "tang"},
    {"韩", "han"},   {"冯", "feng"},  {"邓", "deng"}, {"曹", "cao"},  {"欧阳", "ouyang"},
};
constexpr Syllable kGivenNames[] = {
    {"伟", "wei"},      {"芳", "fang"},       {"娜", "na"},        {"敏", "min"},
    {"静", "jing"},     {"丽", "li"},         {"强", "qiang"},     {"磊", "lei"},
    {"军", "jun"},      {"洋", "yang"},       {"勇", "yong"},      {"艳", "yan"},
    {"杰", "jie"},      {"娟", "juan"},       {"涛", "tao"},       {"明", "ming"},
    {"超", "chao"},     {"秀英", "xiuying"},  {"霞", "xia"},       {"平", "ping"},
    {"刚", "gang"},     {"桂英", "guiying"},  {"建华", "jianhua"}, {"晓东", "xiaodong"},
    {"海燕", "haiyan"}, {"文博", "wenbo"},    {"子涵", "zihan"},   {"思远", "siyuan"},
    {"雪梅", "xuemei"}, {"志强", "zhiqiang"}, {"俊杰", "junjie"},  {"欣怡", "xinyi"},
};

struct City {
  const char* hanzi;
  const char* pinyin;
  const char* region;
};
constexpr City kCities[] = {
    {"杭州", "hangzhou", "浙江省"},  {"宁波", "ningbo", "浙江省"},
    {"温州", "wenzhou", "浙江省"},   {"深圳", "shenzhen", "广东省"},
    {"广州", "guangzhou", "广东省"}, {"东莞", "dongguan", "广东省"},
    {"佛山", "foshan", "广东省"},    {"苏州", "suzhou", "江苏省"},
    {"南京", "nanjing", "江苏省"},   {"无锡", "wuxi", "江苏省"},
    {"成都", "chengdu", "四川省"},   {"武汉", "wuhan", "湖北省"},
    {"青岛", "qingdao", "山东省"},   {"济南", "jinan", "山东省"},
    {"厦门", "xiamen", "福建省"},    {"泉州", "quanzhou", "福建省"},
    {"合肥", "hefei", "安徽省"},     {"长沙", "changsha", "湖南省"},
    {"郑州", "zhengzhou", "河南省"}, {"西安", "xian", "陕西省"},
    {"上海", "shanghai", "上海市"},  {"北京", "beijing", "北京市"},
    {"天津", "tianjin", "天津市"},   {"重庆", "chongqing", "重庆市"},
};

constexpr Syllable kCompanyWords[] = {
    {"华信", "huaxin"},   {"恒达", "hengda"},     {"鑫源", "xinyuan"},  {"瑞丰", "ruifeng"},
    {"宏远", "hongyuan"}, {"天成", "tiancheng"},  {"金泰", "jintai"},   {"博远", "boyuan"},
    {"锦程", "jincheng"}, {"永盛", "yongsheng"},  {"嘉禾", "jiahe"},    {"盛世", "shengshi"},
    {"汇通", "huitong"},  {"联创", "lianchuang"}, {"海纳", "haina"},    {"中科", "zhongke"},
    {"新星", "xinxing"},  {"长风", "changfeng"},  {"百川", "baichuan"}, {"同德", "tongde"},
};

struct Sector {
  const char* word;      // in the company name
  const char* industry;  // the industry column
};
constexpr Sector kSectors[] = {
    {"贸易", "批发零售"},     {"科技", "信息技术"}, {"制造", "制造业"},
    {"电子", "电子元器件"},   {"物流", "物流运输"}, {"食品", "食品加工"},
    {"机械", "机械设备"},     {"建材", "建筑材料"}, {"医疗器械", "医疗器械"},
    {"餐饮管理", "餐饮服务"}, {"纺织", "纺织服装"}, {"新能源", "能源"},
};

constexpr const char* kCompanySuffixes[] = {"有限公司", "有限公司",     "有限公司",
                                            "有限公司", "股份有限公司", "有限责任公司"};
constexpr const char* kMobilePrefixes[] = {"130", "131", "132", "133", "135", "136", "137",
                                           "138", "139", "150", "151", "152", "155", "158",
                                           "159", "177", "186", "187", "188", "199"};
constexpr const char* kMailDomains[] = {"qq.com",   "163.com",     "126.com",
                                        "sina.com", "foxmail.com", "aliyun.com"};
constexpr const char* kGrades[] = {"A", "B", "B", "C", "C", "C", "D", "D", "E", "A"};

constexpr const char* kChineseNotes[] = {
    "客户要求下周三前发货",     "已确认报价，等待盖章合同",
    "季度回访，对售后服务满意", "需开具增值税专用发票",
    "联系人出差中，下周再跟进", "样品已寄出，顺丰单号待补",
    "年度框架协议续签中",       "对价格比较敏感，建议申请折扣",
    "仓库地址变更，见附件",     "老客户介绍，优先处理",
    "付款方式：月结60天",       "投诉物流延误，已安抚",
    "计划扩大采购量约20%",      "已加微信，沟通更及时",
    "需要英文版产品说明书",     "财务对账有差异，待核实",
    "展会认识的新客户",         "决策人是采购部经理",
};
constexpr const char* kLatinNotes[] = {
    "follow up re: invoice",
    "ISO 9001 cert required",
    "MOQ 500 pcs",
    "contact prefers email",
    "Net 30",
    "DHL tracking pending",
    "CRM sync ok",
    "price list v2 sent",
    "call back after 3pm",
    "needs CE marking",
    "quote valid 15 days",
    "met at Canton Fair",
};

std::string Hex(uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

std::string Digits(Rng& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng.Below(10)));
  return s;
}

// UUID version 4 layout (8-4-4-4-12), random from the seeded generator.
std::string MakeId(Rng& rng) {
  uint64_t a = rng.Next();
  uint64_t b = rng.Next();
  std::string h = Hex(a, 16) + Hex(b, 16);
  h[12] = '4';
  h[16] = "89ab"[b & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// Cuts s to at most max bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

// 100-300 bytes of the fragments a sales rep types: Chinese sentences, order numbers, English.
std::string MakeNotes(Rng& rng, const std::string& wechat) {
  size_t target = 100 + rng.Below(201);
  std::string notes;
  while (notes.size() < target) {
    if (!notes.empty()) notes += rng.Below(2) ? "；" : "; ";
    switch (rng.Below(8)) {
      case 0:
        notes += "PO#" + Digits(rng, 7);
        break;
      case 1:
        notes += "报价 ¥" + std::to_string(1 + rng.Below(99)) + "," + Digits(rng, 3);
        break;
      case 2:
        notes += "WeChat: " + wechat;
        break;
      case 3:
        notes += "交期 " + std::to_string(7 + rng.Below(60)) + " days";
        break;
      case 4:
      case 5:
        notes += rng.Pick(kLatinNotes);
        break;
      default:
        notes += rng.Pick(kChineseNotes);
        break;
    }
  }
  TruncateUtf8(notes, 300);
  return notes;
}

CustomerRow MakeCustomer(Rng& rng) {
  CustomerRow r;
  r.id = MakeId(rng);
  const Syllable& surname = rng.Pick(kSurnames);
  const Syllable& given = rng.Pick(kGivenNames);
  r.name = std::string(surname.hanzi) + given.hanzi;
  const City& city = rng.Pick(kCities);
  const Syllable& word = rng.Pick(kCompanyWords);
  const Sector& sector = rng.Pick(kSectors);
  r.company = std::string(city.hanzi) + word.hanzi + sector.word + rng.Pick(kCompanySuffixes);
  r.phone = std::string("+86") + rng.Pick(kMobilePrefixes) + Digits(rng, 8);
  std::string local = std::string(given.pinyin) + "." + surname.pinyin;
  if (rng.Below(2)) local += std::to_string(rng.Below(1000));
  r.email = local + "@" +
            (rng.Below(5) < 2 ? std::string(word.pinyin) + "-" + city.pinyin + ".com.cn"
                              : std::string(rng.Pick(kMailDomains)));
  r.region = city.region;
  r.industry = sector.industry;
  r.grade = rng.Pick(kGrades);
  r.notes = MakeNotes(rng, std::string(surname.pinyin) + given.pinyin + Digits(rng, 3));
  // 2023-11-14 plus up to a year, in microseconds.
  r.updated_at = int64_t{1700000000} * 1000000 + int64_t{rng.Below(365 * 86400)} * 1000000 +
                 rng.Below(1000000);
  return r;
}

// Wall time, the cost a user waits for, and this process's CPU time (user + system, all threads),
// which a busy shared machine disturbs far less: encryption is CPU work, fsync waits are not.
class Stopwatch {
 public:
  Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(std::clock()) {}
  void Stop(Measurement* m) const {
    m->ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_).count();
    m->cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_) / CLOCKS_PER_SEC;
  }

 private:
  std::chrono::steady_clock::time_point wall_;
  std::clock_t cpu_;
};

std::string SqliteError(sqlite3* db, const std::string& what) {
  return what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

Measurement Failed(std::string error) {
  Measurement m;
  m.error = std::move(error);
  return m;
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      error_ = SqliteError(db, std::string("prepare \"") + sql + "\"");
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const std::string& error() const { return error_; }
  sqlite3_stmt* get() const { return stmt_; }
  // Binds without copying: the caller keeps s alive until the statement is reset.
  void BindText(int index, const std::string& s) {
    sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), nullptr);
  }
  void BindInt64(int index, int64_t v) { sqlite3_bind_int64(stmt_, index, v); }
  // Steps once; SQLITE_ROW or SQLITE_DONE, anything else also sets error().
  int Step() {
    int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) error_ = SqliteError(db_, "step");
    return rc;
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
};

constexpr const char* kSchema =
    "CREATE TABLE customers("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, company TEXT, phone TEXT, email TEXT,"
    " region TEXT, industry TEXT, grade TEXT, notes TEXT, updated_at INTEGER NOT NULL);"
    "CREATE INDEX customers_phone ON customers(phone);";
constexpr const char* kInsertSql =
    "INSERT INTO customers(id, name, company, phone, email, region, industry, grade, notes,"
    " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char* kPointReadSql =
    "SELECT name, company, phone, email, region, industry, grade, notes, updated_at"
    " FROM customers WHERE id = ?1";
constexpr const char* kUpdateSql = "UPDATE customers SET notes = ?1, updated_at = ?2 WHERE id = ?3";
constexpr const char* kScanSql = "SELECT sum(length(notes)) FROM customers";

void BindRow(Statement& s, const CustomerRow& r) {
  s.BindText(1, r.id);
  s.BindText(2, r.name);
  s.BindText(3, r.company);
  s.BindText(4, r.phone);
  s.BindText(5, r.email);
  s.BindText(6, r.region);
  s.BindText(7, r.industry);
  s.BindText(8, r.grade);
  s.BindText(9, r.notes);
  s.BindInt64(10, r.updated_at);
}

Measurement InsertBatched(sqlite3* db, const StorageDataset& data) {
  Measurement m;
  Stopwatch stopwatch;
  Statement insert(db, kInsertSql);
  if (!insert.error().empty()) return Failed(insert.error());
  for (size_t first = 0; first < data.rows.size(); first += kBatchSize) {
    std::string error = ExecSql(db, "BEGIN");
    if (!error.empty()) return Failed(error);
    size_t end = std::min(data.rows.size(), first + kBatchSize);
    for (size_t i = first; i < end; ++i) {
      BindRow(insert, data.rows[i]);
      if (insert.Step() != SQLITE_DONE) return Failed(insert.error());
      insert.Reset();
      m.checksum += static_cast<uint64_t>(sqlite3_changes(db));
    }
    error = ExecSql(db, "COMMIT");
    if (!error.empty()) return Failed(error);
  }
  stopwatch.Stop(&m);
  return m;
}

Measurement PointReads(sqlite3* db, const StorageDataset& data, const std::vector<uint32_t>& keys) {
  Measurement m;
  Stopwatch stopwatch;
  Statement read(db, kPointReadSql);
  if (!read.error().empty()) return Failed(read.error());
  for (uint32_t k : keys) {
    read.BindText(1, data.rows[k].id);
    int rc = read.Step();
    if (rc != SQLITE_ROW) {
      return Failed(rc == SQLITE_DONE ? "row " + data.rows[k].id + " not found" : read.error());
    }
    for (int c = 0; c < 8; ++c) {
      m.checksum += static_cast<uint64_t>(sqlite3_column_bytes(read.get(), c));
    }
    m.checksum += static_cast<uint64_t>(sqlite3_column_int64(read.get(), 8));
    read.Reset();
  }
  stopwatch.Stop(&m);
  return m;
}

Measurement ScanFull(sqlite3* db) {
  Measurement m;
  Stopwatch stopwatch;
  Statement scan(db, kScanSql);
  if (!scan.error().empty()) return Failed(scan.error());
  if (scan.Step() != SQLITE_ROW) return Failed(scan.error());
  m.checksum = static_cast<uint64_t>(sqlite3_column_int64(scan.get(), 0));
  stopwatch.Stop(&m);
  return m;
}

Measurement CommitSingle(sqlite3* db, const StorageDataset& data) {
  Measurement m;
  Stopwatch stopwatch;
  Statement insert(db, kInsertSql);
  if (!insert.error().empty()) return Failed(insert.error());
  Statement update(db, kUpdateSql);
  if (!update.error().empty()) return Failed(update.error());
  for (size_t i = 0; i < kSingleCommits; ++i) {
    Statement& s = (i % 2 == 0) ? insert : update;
    if (i % 2 == 0) {
      BindRow(insert, data.new_rows[i / 2]);
    } else {
      const CustomerRow& row = data.rows[data.update_keys[i / 2]];
      update.BindText(1, data.new_notes[i / 2]);
      update.BindInt64(2, row.updated_at + 1000000);
      update.BindText(3, row.id);
    }
    if (s.Step() != SQLITE_DONE) return Failed(s.error());
    s.Reset();
    m.checksum += static_cast<uint64_t>(sqlite3_changes(db));
  }
  stopwatch.Stop(&m);
  return m;
}

// Evicts a closed, synced database file from the OS page cache so the next read hits the device.
void DropOsCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void RemoveDatabaseFiles(const std::string& dir, const std::string& file_name) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind(file_name, 0) == 0) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

}  // namespace

size_t CustomerRow::ByteSize() const {
  return id.size() + name.size() + company.size() + phone.size() + email.size() + region.size() +
         industry.size() + grade.size() + notes.size() + sizeof(updated_at);
}

StorageDataset MakeStorageDataset(size_t rows, uint64_t seed) {
  StorageDataset d;
  Rng rng(seed);
  d.rows.reserve(rows);
  size_t bytes = 0;
  for (size_t i = 0; i < rows; ++i) {
    d.rows.push_back(MakeCustomer(rng));
    bytes += d.rows.back().ByteSize();
  }
  d.average_row_bytes = rows ? static_cast<double>(bytes) / static_cast<double>(rows) : 0;
  const auto n = static_cast<uint32_t>(rows);
  for (size_t i = 0; i < kPointReads; ++i) d.warm_keys.push_back(rng.Below(n));
  for (size_t i = 0; i < kPointReads; ++i) d.cold_keys.push_back(rng.Below(n));
  for (size_t i = 0; i < kSingleCommits; i += 2) {
    d.new_rows.push_back(MakeCustomer(rng));
    d.update_keys.push_back(rng.Below(n));
    d.new_notes.push_back(MakeNotes(rng, "kehu" + Digits(rng, 4)));
  }
  return d;
}

const std::array<WorkloadInfo, kWorkloadCount>& Workloads() {
  static const std::array<WorkloadInfo, kWorkloadCount> kInfo = {{
      {"storage.insert_batched", "insert_batched", 1.15,
       "insert all rows, 1,000 per transaction, one prepared INSERT"},
      {"storage.read_warm", "read_warm", 1.10,
       "10,000 random point reads by primary key, every page already in SQLite's cache"},
      {"storage.read_cold", "read_cold", 0,
       "10,000 random point reads on a just-opened connection (empty SQLite page cache, OS cache "
       "warm)"},
      {"storage.scan_full", "scan_full", 0,
       "sum(length(notes)) over every row on a just-opened connection"},
      {"storage.commit_single", "commit_single", 0,
       "1,000 autocommit statements (alternating INSERT and UPDATE), each a durable commit"},
  }};
  return kInfo;
}

std::string ExecSql(sqlite3* db, const std::string& sql, std::string* out) {
  Statement s(db, sql.c_str());
  if (!s.error().empty()) return s.error();
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    if (out) {
      const unsigned char* text = sqlite3_column_text(s.get(), 0);
      *out = text ? reinterpret_cast<const char*>(text) : "";
    }
  }
  if (rc != SQLITE_DONE) return s.error() + " (in \"" + sql + "\")";
  return "";
}

std::string ApplyCommonPragmas(sqlite3* db, bool new_database) {
  std::string error;
  // page_size first: switching to WAL writes the header of a new file, which fixes the page size.
  if (new_database) {
    error = ExecSql(db, "PRAGMA page_size=" + std::to_string(kPageSize));
    if (!error.empty()) return error;
  }
  std::string mode;
  error = ExecSql(db, "PRAGMA journal_mode=WAL", &mode);
  if (!error.empty()) return error;
  if (mode != "wal") return "journal_mode=WAL refused (got \"" + mode + "\")";
  for (const char* pragma :
       {"PRAGMA synchronous=FULL", "PRAGMA temp_store=MEMORY", "PRAGMA mmap_size=0"}) {
    error = ExecSql(db, pragma);
    if (!error.empty()) return error;
  }
  return ExecSql(db, "PRAGMA cache_size=-" + std::to_string(kCacheSizeKib));
}

StorageVariant::~StorageVariant() = default;

PlainSqliteVariant::~PlainSqliteVariant() { Close(); }

sqlite3* PlainSqliteVariant::Open(const std::string& path, bool create, std::string* error) {
  Close();
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    *error = SqliteError(db_, "open " + path);
    Close();
    return nullptr;
  }
  *error = ApplyCommonPragmas(db_, create);
  if (!error->empty()) {
    Close();
    return nullptr;
  }
  return db_;
}

sqlite3* PlainSqliteVariant::Create(const std::string& path, std::string* error) {
  return Open(path, true, error);
}

sqlite3* PlainSqliteVariant::Reopen(const std::string& path, std::string* error) {
  return Open(path, false, error);
}

void PlainSqliteVariant::Close() {
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

std::array<Measurement, kWorkloadCount> RunStorageSequence(StorageVariant& variant,
                                                           const StorageDataset& data,
                                                           const std::string& path,
                                                           bool drop_os_cache,
                                                           DatabaseFacts* facts) {
  std::array<Measurement, kWorkloadCount> out;
  size_t next = 0;  // the workload that runs next; an error skips it and all after it
  auto fail = [&](const std::string& error) {
    for (size_t w = next; w < kWorkloadCount; ++w) {
      out[w].error =
          (w == next) ? error : "skipped: " + std::string(Workloads()[next].short_name) + " failed";
    }
    variant.Close();
    return out;
  };
  auto reopen = [&]() -> sqlite3* {
    variant.Close();
    if (drop_os_cache) DropOsCache(path);
    std::string error;
    sqlite3* db = variant.Reopen(path, &error);
    if (!db) fail(error);
    return db;
  };

  std::string error;
  sqlite3* db = variant.Create(path, &error);
  if (!db) return fail(error);
  error = ExecSql(db, kSchema);
  if (!error.empty()) return fail(error);

  out[next] = InsertBatched(db, data);
  if (!out[next].error.empty()) return fail(out[next].error);

  ++next;  // read_warm: one untimed pass over the same keys loads every page they touch
  Measurement warmup = PointReads(db, data, data.warm_keys);
  if (!warmup.error.empty()) return fail(warmup.error);
  out[next] = PointReads(db, data, data.warm_keys);
  if (!out[next].error.empty()) return fail(out[next].error);

  ++next;  // read_cold
  if (!(db = reopen())) return out;
  out[next] = PointReads(db, data, data.cold_keys);
  if (!out[next].error.empty()) return fail(out[next].error);

  ++next;  // scan_full
  if (!(db = reopen())) return out;
  out[next] = ScanFull(db);
  if (!out[next].error.empty()) return fail(out[next].error);

  ++next;  // commit_single
  out[next] = CommitSingle(db, data);
  if (!out[next].error.empty()) return fail(out[next].error);

  if (facts) {
    std::string value;
    if (ExecSql(db, "PRAGMA page_size", &value).empty())
      facts->page_size = std::atoi(value.c_str());
    if (ExecSql(db, "PRAGMA page_count", &value).empty()) {
      facts->page_count = std::atoll(value.c_str());
    }
  }
  variant.Close();  // checkpoints the WAL into the main file
  if (facts) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    facts->file_bytes = ec ? 0 : size;
  }
  return out;
}

std::vector<VariantResult> RunStorageBenchmark(const std::vector<StorageVariant*>& variants,
                                               const StorageDataset& data,
                                               const StorageRunOptions& options,
                                               std::string* error) {
  std::string parent = options.dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = (tmp && *tmp) ? tmp : "/tmp";
  }
  std::string templ = parent + "/fieldsync-bench-XXXXXX";
  if (!::mkdtemp(templ.data())) {
    *error = "cannot create a temporary directory under " + parent;
    return {};
  }
  const std::string dir = templ;

  std::vector<VariantResult> results(variants.size());
  for (size_t v = 0; v < variants.size(); ++v) results[v].name = variants[v]->Name();

  const int total = options.total_repetitions > 0 ? options.total_repetitions
                                                  : options.first_repetition + options.repeats;
  for (int rep = options.first_repetition; rep < options.first_repetition + options.repeats;
       ++rep) {
    const bool first = rep == options.first_repetition;
    for (size_t k = 0; k < variants.size(); ++k) {
      size_t v = (rep % 2 == 0) ? k : variants.size() - 1 - k;
      const std::string file_name = "v" + std::to_string(v) + "-r" + std::to_string(rep) + ".db";
      const std::string path = dir + "/" + file_name;
      VariantResult& result = results[v];
      auto m = RunStorageSequence(*variants[v], data, path, options.drop_os_cache,
                                  first ? &result.facts : nullptr);
      RemoveDatabaseFiles(dir, file_name);

      std::string line =
          "rep " + std::to_string(rep + 1) + "/" + std::to_string(total) + " " + result.name + ":";
      for (size_t w = 0; w < kWorkloadCount; ++w) {
        char buf[64];
        if (m[w].error.empty()) {
          result.ms[w].push_back(m[w].ms);
          result.cpu_ms[w].push_back(m[w].cpu_ms);
          std::snprintf(buf, sizeof buf, " %s %.1f ms", Workloads()[w].short_name, m[w].ms);
        } else {
          if (result.errors[w].empty()) result.errors[w] = m[w].error;
          std::snprintf(buf, sizeof buf, " %s FAILED", Workloads()[w].short_name);
        }
        line += buf;
        if (first) result.checksums[w] = m[w].checksum;
      }
      if (options.progress) options.progress(line);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return results;
}

}  // namespace fieldsync::bench
