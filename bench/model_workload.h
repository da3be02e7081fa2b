// bench/model_workload.h: the data of `fieldsync-bench model`: customer records, edits, search
// queries and visit reports, all generated before any timing from a fixed seed.
//
// Records are what a field-sales app hands to fieldsync::Database: JSON text in the built-in
// schema's fields (docs/schema.md), written the way reps type them (phones as "138 0013 8000" or
// "+86 138-0013-8000", mixed-case emails), so the validator has its real work to do. Customers are
// mostly Chinese: persons with 2- to 4-character names (张伟, 王秀英, 欧阳娜娜), companies with a
// short name and a registered name (明辉贸易, 杭州明辉贸易有限公司); about one in eight has a Latin
// name (Laura Schmidt, Pacific Star Electronics Ltd.). Each keeps the canonical forms of its
// searchable values (E.164 phones, lowercased emails) for the plain-SQLite baseline table, and the
// pinyin of a Chinese person's name for drawing queries.
//
// The generator is a splitmix64 stream with no std:: distributions, so the same seed gives the same
// data in every build. Uses no SQLite and no fieldsync library.
//
// Thread safety: a ModelGenerator is used from one thread; the free functions are pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fieldsync::bench {

struct ModelCustomer {
  std::string id;    // UUID-shaped, also the record's "id" member
  std::string json;  // the record as passed to Database::Put (or Edit::kPut), with its "id"
  int fields = 0;    // members of json besides "id": the field edits a put counts for
  // Canonical searchable values, as fieldsync stores them; the plain baseline stores these.
  std::string name;
  std::string company;
  std::string phones;  // E.164, comma-separated
  std::string emails;  // lowercased, comma-separated
  // For drawing queries.
  bool chinese_person = false;
  bool latin = false;
  std::string pinyin;    // full pinyin of a Chinese person's name: "zhangxiuying"
  std::string initials;  // its initials: "zxy"
  std::string national;  // the first phone's 11 national digits
};

// One edit of a batch: a put of a new customer or an update of 1-3 fields of an existing one.
struct ModelEdit {
  bool put = false;
  std::string id;
  std::string json;  // put: the record (with "id"); update: the patch
  int fields = 0;    // field edits it makes
};

enum QueryKind : size_t {
  kQueryChineseName = 0,  // the first two characters of a Chinese person's name: 张伟, 欧阳
  kQueryLatin,            // 3-5 letters from inside a word of a Latin name: "chmid", "acif"
  kQueryPhone,            // 4-7 consecutive digits of a mobile number: "0013800"
  kQueryPinyinFull,       // a Chinese person's name in pinyin: "zhangxiuying"
  kQueryPinyinInitials,   // its initials: "zxy", "zw"
  kQueryKindCount,
};

const char* QueryKindName(size_t kind);

inline constexpr uint64_t kModelSeed = 0x6d6f64656c2d3031ULL;  // "model-01"

class ModelGenerator {
 public:
  explicit ModelGenerator(uint64_t seed) : state_(seed) {}

  ModelCustomer Customer();
  // A patch of 1-3 distinct customer fields (notes, grade, stage, owner, phones, ...); *fields
  // gets how many.
  std::string Patch(int* fields);
  // A visit report of `customer` with a long summary (1.5-4.5 KB of mostly Chinese text): what
  // makes a field-sales database grow. *id gets the visit's id, which is also in the JSON.
  std::string Visit(const std::string& customer, std::string* id);
  // A query of `kind` drawn from `customers` (which must hold at least one customer of each
  // script: Chinese persons and Latin names).
  std::string Query(size_t kind, const std::vector<ModelCustomer>& customers);

  // edits_count edits over the ids of `existing`, to which each put's id is appended: one in
  // `put_every` edits is a put of a new customer, the others update an existing one.
  std::vector<ModelEdit> Edits(size_t edits_count, size_t put_every,
                               std::vector<std::string>* existing);

  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }

 private:
  uint64_t Next();
  std::string Id();
  std::string Digits(int n);
  template <typename T, size_t N>
  const T& Pick(const T (&list)[N]) {
    return list[Below(static_cast<uint32_t>(N))];
  }

  uint64_t state_;
};

}  // namespace fieldsync::bench
