// tests/core/search_test.cc: the search index (search/text_index.h) and its folding
// (search/text_fold.h) on a real encrypted Store: Chinese names of two characters, simplified
// and traditional forms, pinyin, phone and email fragments, ranking, updates and removal.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fieldsync/store.h"
#include "search/text_fold.h"
#include "search/text_index.h"
#include "test_util.h"

namespace fieldsync::search {
namespace {

using testing::TempDir;
using testing::TestKey;

// An encrypted store with the search tables and a small, realistic set of records.
class SearchFixture {
 public:
  SearchFixture() {
    auto store = Store::Create(dir_.File("rep.db"), TestKey());
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    store_ = std::move(*store);
    db_ = static_cast<sqlite3*>(store_->native_handle());
    REQUIRE(CreateSearchTables(db_).ok());
  }

  void Index(const std::string& collection, const std::string& id,
             const std::vector<IndexEntry>& entries) {
    Status s = IndexRecord(db_, collection, id, entries);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  void IndexSampleSet() {
    Index("customers", "c1",
          {{"name", "张伟"},
           {"company", "上海明辉贸易有限公司"},
           {"phones", "+8613800138000"},
           {"emails", "zhang.wei@minghui.cn"}});
    Index("customers", "c2", {{"name", "张伟明"}, {"company", "北京长城科技"}});
    Index("customers", "c3",
          {{"name", "王芳"}, {"phones", "+8613912345678"}, {"emails", "wang.fang@example.cn"}});
    Index("customers", "c4", {{"name", "李娜"}, {"company", "臺北客戶服務有限公司"}});
    Index("customers", "c5", {{"name", "Acme Trading"}, {"phones", "+862161234567"}});
    Index("customers", "c6", {{"name", "赵明"}, {"company", "深圳客户之家"}});
    Index("contacts", "k1", {{"name", "刘洋"}, {"company", "张伟律师事务所"}});
  }

  // Ids of the hits, best first ("contacts/" prefixed for contacts).
  std::vector<std::string> Find(const std::string& query, int limit = 20) {
    auto hits = SearchIndex(db_, query, limit);
    REQUIRE_MESSAGE(hits.ok(), hits.status().ToString());
    std::vector<std::string> ids;
    for (const IndexHit& h : *hits) {
      ids.push_back(h.collection == "contacts" ? "contacts/" + h.id : h.id);
    }
    return ids;
  }

  bool Finds(const std::string& query, const std::string& id) {
    std::vector<std::string> ids = Find(query);
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  sqlite3* db() { return db_; }
  Store& store() { return *store_; }
  const TempDir& dir() { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<Store> store_;
  sqlite3* db_ = nullptr;
};

using Ids = std::vector<std::string>;

TEST_CASE("search folding: width, case, traditional forms and spaces fold alike") {
  auto fold = [](std::string_view s) {
    Result<std::string> r = FoldText(s);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(fold("ＡＢＣ　１２３") == "abc 123");
  CHECK(fold("  Acme\tTRADING \n") == "acme trading");
  CHECK(fold("臺北客戶服務") == "台北客户服务");
  CHECK(fold("客户") == "客户");
  CHECK(fold("張偉") == fold("张伟"));
  CHECK(fold("Straße") == "strasse");
  CHECK(fold("") == "");
  // Per-character folding: a fragment folds to a fragment of the folded whole.
  CHECK(fold("乾隆皇帝").find(fold("乾")) != std::string::npos);
  CHECK(fold(std::string("a\0b", 3)) == "a b");
  CHECK(fold("\xff\xfe") == "\xef\xbf\xbd\xef\xbf\xbd");  // invalid UTF-8 → U+FFFD
}

TEST_CASE("search pinyin: full and initials, surname readings with the common one beside") {
  auto pinyin = [](std::string_view folded) {
    Result<std::vector<PinyinForm>> r = PinyinOf(folded);
    REQUIRE(r.ok());
    return *r;
  };
  std::vector<PinyinForm> zw = pinyin("张伟");
  REQUIRE(zw.size() == 1);
  CHECK(zw[0].full == "zhangwei");
  CHECK(zw[0].initials == "zw");
  std::vector<PinyinForm> company = pinyin("上海明辉贸易有限公司");
  REQUIRE(!company.empty());
  CHECK(company[0].full == "shanghaiminghuimaoyiyouxiangongsi");
  CHECK(company[0].initials == "shmhmyyxgs");
  std::vector<PinyinForm> shan = pinyin("单雄信");  // 单 as a surname is shan, elsewhere dan
  REQUIRE(shan.size() == 2);
  CHECK(shan[0].full == "shanxiongxin");
  CHECK(shan[1].full == "danxiongxin");
  CHECK(pinyin("长城")[0].full == "changcheng");
  CHECK(pinyin("3m中国")[0].full == "3mzhongguo");
  CHECK(pinyin("3m中国")[0].initials == "3zg");
  CHECK(pinyin("acme trading").empty());
}

TEST_CASE("search phone digits: E.164, and the national form of a Chinese landline") {
  CHECK(LooksLikePhone("+86 138-0013-8000"));
  CHECK_FALSE(LooksLikePhone("acme 2"));
  CHECK(PhoneDigits("+8613800138000") == std::vector<std::string>{"8613800138000"});
  CHECK(PhoneDigits("+862161234567") == std::vector<std::string>{"862161234567", "02161234567"});
}

TEST_CASE("search finds a two-character Chinese name and the longer names containing it") {
  SearchFixture f;
  f.IndexSampleSet();
  Ids hits = f.Find("张伟");
  REQUIRE(hits.size() == 3);
  CHECK(hits[0] == "c1");           // exact name
  CHECK(hits[1] == "c2");           // name starts with it
  CHECK(hits[2] == "contacts/k1");  // company starts with it: name outranks company
}

TEST_CASE("search finds a single Chinese character anywhere in a name") {
  SearchFixture f;
  f.IndexSampleSet();
  Ids hits = f.Find("伟");
  CHECK(hits.size() == 3);
  CHECK(hits[0] == "c1");  // 伟 covers more of 张伟 than of 张伟明
  CHECK(hits[1] == "c2");
  CHECK(f.Finds("明", "c6"));  // 赵明
}

TEST_CASE("search by pinyin in full or by initials finds Chinese names") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Find("zhangwei").at(0) == "c1");
  CHECK(f.Finds("zhangwei", "c2"));
  CHECK(f.Find("zw").at(0) == "c1");  // initials, exact
  CHECK(f.Finds("zw", "c2"));
  CHECK(f.Find("ZHANG WEI").at(0) == "c1");  // spaces and case do not matter
  CHECK(f.Find("zwm") == Ids{"c2"});
  CHECK(f.Finds("weiming", "c2"));
  CHECK(f.Finds("mh", "c1"));  // initials inside the company: 上海明辉贸易 → shmhmy
  CHECK(f.Finds("minghui", "c1"));
  CHECK(f.Finds("changcheng", "c2"));  // 长城 read as chang, not zhang
  CHECK(f.Finds("wf", "c3"));
  CHECK(f.Finds("zh", "c1"));  // first letters of the pinyin
}

TEST_CASE("search matches simplified and traditional forms both ways") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Finds("客户", "c4"));  // simplified query, traditional text 臺北客戶
  CHECK(f.Finds("客戶", "c6"));  // traditional query, simplified text 深圳客户
  CHECK(f.Finds("客戶", "c4"));
  CHECK(f.Finds("台北", "c4"));
  CHECK(f.Finds("臺北客戶服務", "c4"));
  CHECK(f.Finds("張偉", "c1"));
  CHECK(f.Finds("taibei", "c4"));
}

TEST_CASE("search finds phone numbers by partial digits in any common format") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Find("0013800") == Ids{"c1"});
  CHECK(f.Find("138001") == Ids{"c1"});
  CHECK(f.Find("13800138000").at(0) == "c1");
  CHECK(f.Find("+86 138-0013-8000").at(0) == "c1");
  CHECK(f.Find("021 6123") == Ids{"c5"});  // national form of a Shanghai landline
  CHECK(f.Find("61234567") == Ids{"c5"});
  CHECK(f.Find("139") == Ids{"c3"});
  CHECK(f.Find("999").empty());
}

TEST_CASE("search finds email fragments and Latin text case-insensitively") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Find("wang.fang") == Ids{"c3"});
  CHECK(f.Find("example.cn") == Ids{"c3"});
  CHECK(f.Find("WANG.FANG@EXAMPLE.CN") == Ids{"c3"});
  CHECK(f.Find("acme") == Ids{"c5"});
  CHECK(f.Find("ACME") == Ids{"c5"});
  CHECK(f.Find("Acme Trading") == Ids{"c5"});
  CHECK(f.Find("ｔｒａｄｉｎｇ") == Ids{"c5"});  // full-width
  CHECK(f.Find("ac") == Ids{"c5"});              // two letters: start of a word
  CHECK(f.Find("tr") == Ids{"c5"});
  CHECK(f.Find("cm").empty());  // ...but not inside one: three letters are needed for that
  CHECK(f.Find("cme") == Ids{"c5"});
}

TEST_CASE("search ranks exact over prefix over substring, then name over other fields") {
  SearchFixture f;
  f.Index("customers", "a", {{"name", "王明辉"}});
  f.Index("customers", "b", {{"name", "明辉"}});
  f.Index("customers", "c", {{"name", "李强"}, {"company", "明辉"}});
  f.Index("customers", "d", {{"name", "明辉科技"}});
  auto hits = SearchIndex(f.db(), "明辉", 10);
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 4);
  CHECK((*hits)[0].id == "b");  // exact name
  CHECK((*hits)[0].field == "name");
  CHECK((*hits)[1].id == "c");  // exact company
  CHECK((*hits)[1].field == "company");
  CHECK((*hits)[2].id == "d");  // name prefix
  CHECK((*hits)[3].id == "a");  // name substring
  CHECK((*hits)[0].score > (*hits)[1].score);
  // Ties are broken by id, so the order is stable.
  f.Index("customers", "e2", {{"name", "明辉"}});
  f.Index("customers", "e1", {{"name", "明辉"}});
  CHECK(f.Find("明辉", 3) == Ids{"b", "e1", "e2"});
  // The pinyin field is reported under the caller's field name.
  auto py = SearchIndex(f.db(), "minghui", 1);
  REQUIRE(py.ok());
  REQUIRE(py->size() == 1);
  CHECK((*py)[0].field == "name");
}

TEST_CASE("search ranks a record equal to the query first even among thousands of matches") {
  SearchFixture f;
  REQUIRE(f.store().Execute("BEGIN").ok());
  f.Index("customers", "exact", {{"name", "明辉"}});  // the oldest: verified last, if at all
  for (int i = 0; i < 2500; ++i) {
    f.Index("customers", "m" + std::to_string(10000 + i), {{"name", "明辉" + std::to_string(i)}});
  }
  REQUIRE(f.store().Execute("COMMIT").ok());
  Ids hits = f.Find("明辉", 20);
  REQUIRE(hits.size() == 20);
  CHECK(hits[0] == "exact");
  Ids hits_pinyin = f.Find("minghui", 5);
  REQUIRE(hits_pinyin.size() == 5);
  CHECK(hits_pinyin[0] == "exact");
}

TEST_CASE("search returns only real substring matches") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Find("张明").empty());  // 张伟明 has both characters, not the substring
  CHECK(f.Find("伟张").empty());
  CHECK(f.Find("zwx").empty());
  CHECK(f.Find("zhangweiming") == Ids{"c2"});
  CHECK(f.Find("明辉贸易有限公司北京").empty());
  CHECK(f.Find("0013801").empty());
  CHECK(f.Find("fang@example.com").empty());
}

TEST_CASE("search with an empty or blank query, or no room for hits, returns nothing") {
  SearchFixture f;
  f.IndexSampleSet();
  CHECK(f.Find("").empty());
  CHECK(f.Find("   \t ").empty());
  CHECK(f.Find("　").empty());  // ideographic space
  CHECK(f.Find("张伟", 0).empty());
  CHECK(f.Find("张伟", -1).empty());
  CHECK(f.Find("张伟", 1) == Ids{"c1"});
  CHECK(f.Find("@").empty());  // one punctuation character has no index
}

TEST_CASE("search treats SQL and FTS syntax in queries and text as plain text") {
  SearchFixture f;
  f.IndexSampleSet();
  const std::string evil = "'; DROP TABLE fs_search_doc; --";
  CHECK(f.Find(evil).empty());
  for (const char* q : {"\"", "\"\"", "*", "a*", "NOT", "zw OR ac", "(", "NEAR(a b)", "'",
                        "\" OR \"", "^张", "张伟\"", "%", "_"}) {
    CHECK_MESSAGE(SearchIndex(f.db(), q, 10).ok(), q);
  }
  f.Index("customers", "x", {{"name", evil}, {"company", "\"quoted\" * (AND) OR"}});
  CHECK(f.Find("drop table") == Ids{"x"});
  CHECK(f.Find(evil) == Ids{"x"});
  CHECK(f.Find("\"quoted\"") == Ids{"x"});
  CHECK(f.Find("(and) or") == Ids{"x"});
  CHECK(testing::CountRows(f.store(), "fs_search_doc") == 8);
  CHECK(f.Find("张伟").size() == 3);
}

TEST_CASE("search index updates: re-indexing replaces the old text, removal removes") {
  SearchFixture f;
  f.IndexSampleSet();
  // One field changes (each field has its own index rows): the others are still found.
  f.Index("customers", "c3",
          {{"name", "王芳"}, {"phones", "+8613700000001"}, {"emails", "wang.fang@example.cn"}});
  CHECK(f.Find("13912").empty());
  CHECK(f.Find("1370000") == Ids{"c3"});
  CHECK(f.Find("wang.fang") == Ids{"c3"});
  CHECK(f.Finds("wf", "c3"));
  // A field disappears, later fields move up a slot.
  f.Index("customers", "c3", {{"phones", "+8613700000001"}, {"emails", "wang.fang@example.cn"}});
  CHECK_FALSE(f.Finds("王芳", "c3"));
  CHECK(f.Find("1370000") == Ids{"c3"});
  CHECK(f.Find("wang.fang") == Ids{"c3"});
  f.Index("customers", "c3",
          {{"name", "王芳"}, {"phones", "+8613912345678"}, {"emails", "wang.fang@example.cn"}});
  CHECK(f.Find("1370000").empty());
  f.Index("customers", "c1", {{"name", "张伟"}, {"company", "杭州新星电子"}});
  CHECK_FALSE(f.Finds("明辉", "c1"));
  CHECK_FALSE(f.Finds("0013800", "c1"));
  CHECK(f.Finds("新星", "c1"));
  CHECK(f.Finds("xinxing", "c1"));
  CHECK(f.Find("张伟").at(0) == "c1");
  // Unchanged entries are a no-op; so is removing what is not there.
  f.Index("customers", "c1", {{"name", "张伟"}, {"company", "杭州新星电子"}});
  CHECK(RemoveRecord(f.db(), "customers", "nope").ok());

  CHECK(RemoveRecord(f.db(), "customers", "c1").ok());
  CHECK_FALSE(f.Finds("张伟", "c1"));
  CHECK_FALSE(f.Finds("zw", "c1"));
  CHECK_FALSE(f.Finds("新星", "c1"));
  CHECK(f.Finds("张伟", "c2"));
  // Indexing with no text removes the record too; indexing it again brings it back.
  f.Index("customers", "c2", {{"name", ""}});
  CHECK(f.Find("张伟明").empty());
  f.Index("customers", "c2", {{"name", "张伟明"}});
  CHECK(f.Find("张伟明") == Ids{"c2"});
  // The same id in another collection is another record.
  f.Index("contacts", "c2", {{"name", "张伟明"}});
  CHECK(f.Find("张伟明") == Ids{"contacts/c2", "c2"});

  // The FTS tables are consistent with the doc table after all of this.
  for (const char* check :
       {"INSERT INTO fs_search_short(fs_search_short) VALUES('integrity-check')",
        "INSERT INTO fs_search_tri(fs_search_tri) VALUES('integrity-check')"}) {
    CHECK_MESSAGE(sqlite3_exec(f.db(), check, nullptr, nullptr, nullptr) == SQLITE_OK,
                  sqlite3_errmsg(f.db()));
  }
}

TEST_CASE("search index writes join the caller's transaction and roll back with it") {
  SearchFixture f;
  f.IndexSampleSet();
  REQUIRE(f.store().Execute("BEGIN").ok());
  f.Index("customers", "n1", {{"name", "周杰"}});
  REQUIRE(RemoveRecord(f.db(), "customers", "c1").ok());
  CHECK(f.Finds("周杰", "n1"));
  REQUIRE(f.store().Execute("ROLLBACK").ok());
  CHECK(f.Find("周杰").empty());
  CHECK(f.Find("张伟").at(0) == "c1");
}

TEST_CASE("search index is stored in the encrypted database and survives reopening") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, TestKey());
    REQUIRE(store.ok());
    auto* db = static_cast<sqlite3*>((*store)->native_handle());
    REQUIRE(CreateSearchTables(db).ok());
    REQUIRE(CreateSearchTables(db).ok());  // idempotent
    REQUIRE(
        IndexRecord(db, "customers", "c1", {{"name", "张伟"}, {"emails", "zhangwei@x.cn"}}).ok());
  }
  CHECK(testing::FilesContaining(dir, "zhangwei").empty());
  CHECK(testing::FilesContaining(dir, "张伟").empty());
  auto store = Store::Open(path, TestKey());
  REQUIRE(store.ok());
  auto hits = SearchIndex(static_cast<sqlite3*>((*store)->native_handle()), "zw", 5);
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "c1");
}

TEST_CASE("search keeps no statement that would stop its connection from closing") {
  TempDir dir;
  const std::string path = dir.File("plain.db");
  for (int round = 0; round < 3; ++round) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(CreateSearchTables(db).ok());
    REQUIRE(IndexRecord(db, "customers", "c" + std::to_string(round), {{"name", "张伟"}}).ok());
    REQUIRE(RemoveRecord(db, "customers", "nope").ok());
    auto hits = SearchIndex(db, "张伟", 10);
    REQUIRE(hits.ok());
    CHECK(hits->size() == static_cast<size_t>(round + 1));
    CHECK(SearchIndex(db, "zhangwei", 10).ok());
    // sqlite3_close (unlike _v2) refuses with SQLITE_BUSY while any statement is unfinalized.
    CHECK(sqlite3_close(db) == SQLITE_OK);
  }
}

TEST_CASE("search refuses bad arguments") {
  SearchFixture f;
  CHECK(IndexRecord(nullptr, "customers", "c1", {}).code() == StatusCode::kInvalidArgument);
  CHECK(IndexRecord(f.db(), "", "c1", {}).code() == StatusCode::kInvalidArgument);
  CHECK(IndexRecord(f.db(), "customers", "", {}).code() == StatusCode::kInvalidArgument);
  CHECK(IndexRecord(f.db(), "customers", "c1", {{"", "x"}}).code() == StatusCode::kInvalidArgument);
  CHECK(IndexRecord(f.db(), "customers", "c1", {{"na\x1fme", "x"}}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(RemoveRecord(f.db(), "customers", "").code() == StatusCode::kInvalidArgument);
  CHECK(SearchIndex(nullptr, "x", 1).status().code() == StatusCode::kInvalidArgument);
}

// ---- informal timing (numbers are printed, never asserted) ---------------------------------

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

TEST_CASE("search timing over 100,000 synthetic customers" * doctest::skip()) {
  SearchFixture f;
  const std::vector<std::string> surnames = {
      "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
      "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
      "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡"};
  const std::vector<std::string> given = {
      "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
      "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "辉", "鹏",
      "建", "国", "文", "俊", "峰", "红", "宇", "浩", "波", "斌", "晨", "欣", "琳", "雪",
      "海", "志", "婷", "倩", "佳", "颖", "鑫", "凯", "东", "新", "家", "晓", "慧", "龙"};
  const std::vector<std::string> cities = {"上海", "北京", "广州", "深圳", "杭州", "成都",
                                           "武汉", "南京", "重庆", "天津", "苏州", "西安",
                                           "臺北", "長沙", "青岛", "厦门"};
  const std::vector<std::string> words = {"明辉", "长城", "华夏", "鼎盛", "恒通", "新星",
                                          "宏达", "金桥", "东方", "瑞丰", "永安", "博远",
                                          "天成", "嘉禾", "中联", "信达", "海纳", "润泽"};
  const std::vector<std::string> kinds = {"贸易有限公司", "科技有限公司", "商贸行",
                                          "电子有限公司", "物流有限公司", "客戶服務有限公司",
                                          "食品有限公司", "建材经营部"};
  const std::vector<std::string> latin = {"Acme",   "Global", "Pacific", "Sun",  "Star",
                                          "Orient", "Golden", "Apex",    "Nova", "Prime"};
  std::mt19937 rng(42);
  auto pick = [&rng](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto digits = [&rng](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };

  constexpr int kRecords = 100000;
  std::vector<std::vector<IndexEntry>> records;
  records.reserve(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    std::vector<IndexEntry> e;
    std::string name = pick(surnames) + pick(given);
    if (rng() % 3 != 0) name += pick(given);
    e.push_back({"name", name});
    if (rng() % 5 == 0) {
      e.push_back({"company", pick(latin) + " " + pick(latin) + " Trading Co."});
    } else {
      e.push_back({"company", pick(cities) + pick(words) + pick(kinds)});
    }
    e.push_back({"phones", "+861" + std::to_string(3 + rng() % 7) + digits(9)});
    e.push_back(
        {"emails", "u" + std::to_string(i) + "@example" + std::to_string(rng() % 50) + ".cn"});
    records.push_back(std::move(e));
  }

  // Batched: 1,000 records per transaction, as a sync pull or an import would write them.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) {
    if (i % 1000 == 0) REQUIRE(f.store().Execute("BEGIN").ok());
    Status s = IndexRecord(f.db(), "customers", "cust-" + std::to_string(i), records[i]);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    if (i % 1000 == 999) REQUIRE(f.store().Execute("COMMIT").ok());
  }
  double index_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRecords;

  // Re-indexing after an edit, batched the same way: the name changes, or only the phone.
  auto time_edits = [&](int field, const std::function<std::string()>& next) {
    constexpr int kEdits = 20000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kEdits; ++i) {
      if (i % 1000 == 0) REQUIRE(f.store().Execute("BEGIN").ok());
      records[i][field].text = next();
      REQUIRE(IndexRecord(f.db(), "customers", "cust-" + std::to_string(i), records[i]).ok());
      if (i % 1000 == 999) REQUIRE(f.store().Execute("COMMIT").ok());
    }
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
               .count() /
           kEdits;
  };
  double rename_us = time_edits(0, [&] { return pick(surnames) + pick(given) + pick(given); });
  double phone_us = time_edits(2, [&] { return "+8615" + digits(9); });
  // Unchanged entries (an edit to a field that is not searchable).
  start = std::chrono::steady_clock::now();
  REQUIRE(f.store().Execute("BEGIN").ok());
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(IndexRecord(f.db(), "customers", "cust-" + std::to_string(i), records[i]).ok());
  }
  REQUIRE(f.store().Execute("COMMIT").ok());
  double unchanged_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      20000;

  const std::vector<std::string> queries = {
      "张伟",     "王芳",        "李娜",   "伟",           "明",       "张伟明", "明辉",
      "长城科技", "臺北客戶",    "客户",   "zhangwei",     "wangfang", "zw",     "lj",
      "mh",       "minghui",     "acme",   "Pacific Star", "ac",       "138001", "0013800",
      "13912",    "example7.cn", "u4242@", "zhang wei",    "李",       "王"};
  std::vector<double> all;
  std::string report;
  for (const std::string& q : queries) {
    std::vector<double> times;
    size_t n = 0;
    for (int rep = 0; rep < 15; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      auto hits = SearchIndex(f.db(), q, 20);
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      REQUIRE(hits.ok());
      n = hits->size();
    }
    all.insert(all.end(), times.begin(), times.end());
    char line[160];
    std::snprintf(line, sizeof(line), "  %-14s p50 %6.2f ms  hits %zu\n", q.c_str(),
                  Percentile(times, 0.5), n);
    report += line;
  }
  int64_t pages = 0;
  int64_t page_size = 0;
  REQUIRE(f.store()
              .Execute("PRAGMA page_count", {},
                       [&](const Row& r) {
                         pages = std::get<int64_t>(r.values[0]);
                         return true;
                       })
              .ok());
  REQUIRE(f.store()
              .Execute("PRAGMA page_size", {},
                       [&](const Row& r) {
                         page_size = std::get<int64_t>(r.values[0]);
                         return true;
                       })
              .ok());
  std::string sizes;
  Status s = f.store().Execute(
      "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC", {}, [&](const Row& r) {
        char line[120];
        std::snprintf(line, sizeof(line), "  %-28s %8.2f MB\n",
                      std::get<std::string>(r.values[0]).c_str(),
                      static_cast<double>(std::get<int64_t>(r.values[1])) / 1e6);
        sizes += line;
        return true;
      });
  if (!s.ok()) sizes = "  (dbstat unavailable: " + s.ToString() + ")\n";
  char summary[400];
  std::snprintf(summary, sizeof(summary),
                "index %.1f us/record (batched); re-index: name %.1f us, phone %.1f us, "
                "unchanged %.1f us; query p50 %.2f ms p95 %.2f ms max %.2f ms; "
                "database %.1f MB\n",
                index_us, rename_us, phone_us, unchanged_us, Percentile(all, 0.5),
                Percentile(all, 0.95), Percentile(all, 1.0),
                static_cast<double>(pages * page_size) / 1e6);
  MESSAGE(summary << report << sizes);
}

}  // namespace
}  // namespace fieldsync::search
