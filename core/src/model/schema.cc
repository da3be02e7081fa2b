// model/schema.cc: parsing, checking, extending and printing schemas (fieldsync/schema.h).
//
// The JSON format is given in fieldsync/schema.h and, attribute by attribute, in docs/schema.md.
// Parsing is strict: an unknown attribute is an error rather than ignored, because a misspelt
// "requried" that is silently dropped would let bad data in for the life of the database. Every
// problem found is reported (not only the first), each located by its JSON path, e.g.
// "collections.customers.fields.grade.values: an enum needs at least one value".
//
// Thread safety: the functions here are pure; FieldSales() initializes its schema once
// (function-local static, thread-safe since C++11).
#include "fieldsync/schema.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "model/builtin_schema.h"

namespace fieldsync {
namespace {

// ordered_json keeps collections and fields in declaration order (CollectionDef::fields is
// documented as declaration order; plain nlohmann::json would sort them by name).
using Json = nlohmann::ordered_json;

// Long enough for any sensible name; short enough to print in messages and index keys.
constexpr size_t kMaxNameLength = 64;

struct TypeName {
  FieldType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {FieldType::kText, "text"},
    {FieldType::kInteger, "integer"},
    {FieldType::kDecimal, "decimal"},
    {FieldType::kMoney, "money"},
    {FieldType::kBool, "bool"},
    {FieldType::kDate, "date"},
    {FieldType::kDateTime, "datetime"},
    {FieldType::kEnum, "enum"},
    {FieldType::kPhone, "phone"},
    {FieldType::kEmail, "email"},
    {FieldType::kUrl, "url"},
    {FieldType::kGeoPoint, "geo_point"},
    {FieldType::kStringSet, "string_set"},
    {FieldType::kJson, "json"},
};

struct MergeName {
  MergeRule rule;
  const char* name;
};
constexpr MergeName kMergeNames[] = {
    {MergeRule::kLastWriterWins, "lww"},     {MergeRule::kReview, "review"},
    {MergeRule::kServerOnly, "server_only"}, {MergeRule::kAddWinsSet, "add_wins_set"},
    {MergeRule::kAppendOnly, "append_only"},
};

const char* DeleteRuleName(DeleteRule rule) {
  return rule == DeleteRule::kUpdateWins ? "update_wins" : "delete_wins";
}

const char* SensitivityName(Sensitivity s) {
  return s == Sensitivity::kConfidential ? "confidential" : "normal";
}

// Collects every problem found; the schema is refused if there is at least one.
class Problems {
 public:
  void Add(const std::string& path, const std::string& what) {
    list_.push_back(path + ": " + what);
  }
  bool empty() const { return list_.empty(); }
  Status ToStatus() const {
    std::string msg = "invalid schema: ";
    for (size_t i = 0; i < list_.size(); ++i) {
      if (i > 0) msg += "; ";
      msg += list_[i];
    }
    return Status::InvalidArgument(std::move(msg));
  }

 private:
  std::vector<std::string> list_;
};

std::string JsonKind(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

// Field and collection names: ASCII snake_case, as hosts, the server and SQL paths
// (json_extract(data, '$.name')) rely on; anything else would need quoting somewhere.
bool IsSnakeCase(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool CheckName(std::string_view name, const std::string& path, Problems* problems) {
  if (IsSnakeCase(name)) return true;
  problems->Add(path, "names must be snake_case ASCII ([a-z][a-z0-9_]*, at most " +
                          std::to_string(kMaxNameLength) + " characters)");
  return false;
}

bool ReadBool(const Json& v, const std::string& path, Problems* problems, bool* out) {
  if (!v.is_boolean()) {
    problems->Add(path, "expected true or false, got " + JsonKind(v));
    return false;
  }
  *out = v.get<bool>();
  return true;
}

bool ReadString(const Json& v, const std::string& path, Problems* problems, std::string* out) {
  if (!v.is_string()) {
    problems->Add(path, "expected a string, got " + JsonKind(v));
    return false;
  }
  *out = v.get<std::string>();
  return true;
}

bool ReadPositiveInt(const Json& v, const std::string& path, Problems* problems, int* out) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > INT32_MAX) {
    problems->Add(path, "expected a positive integer, got " + v.dump());
    return false;
  }
  *out = static_cast<int>(v.get<int64_t>());
  return true;
}

bool ReadFiniteNumber(const Json& v, const std::string& path, Problems* problems, double* out) {
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    problems->Add(path, "expected a number, got " + JsonKind(v));
    return false;
  }
  *out = v.get<double>();
  return true;
}

struct ParsedField {
  FieldDef def;
  bool merge_given = false;  // an explicit "merge", checked against the collection's append_only
};

struct ParsedCollection {
  CollectionDef def;
  std::vector<ParsedField> fields;
  bool delete_rule_given = false;
  bool append_only_given = false;
};

struct ParsedSchema {
  int version = 1;
  bool version_given = false;
  std::vector<ParsedCollection> collections;
};

bool TypeAllows(FieldType t, std::initializer_list<FieldType> allowed) {
  for (FieldType a : allowed) {
    if (a == t) return true;
  }
  return false;
}

// Parses one field's attributes; checks that need only the field itself.
ParsedField ParseField(const std::string& name, const Json& j, const std::string& path,
                       Problems* problems) {
  ParsedField parsed;
  FieldDef& f = parsed.def;
  f.name = name;
  if (name == "id") problems->Add(path, "\"id\" is reserved for the record id");
  CheckName(name, path, problems);
  if (!j.is_object()) {
    problems->Add(path, "expected an object of attributes, got " + JsonKind(j));
    return parsed;
  }
  auto type_it = j.find("type");
  if (type_it == j.end()) {
    problems->Add(path + ".type", "missing (every field needs a type)");
  } else {
    std::string type;
    if (ReadString(*type_it, path + ".type", problems, &type)) {
      bool known = false;
      std::string all;
      for (const TypeName& t : kTypeNames) {
        if (type == t.name) {
          f.type = t.type;
          known = true;
        }
        all += all.empty() ? t.name : std::string(", ") + t.name;
      }
      if (!known)
        problems->Add(path + ".type", "unknown type \"" + type + "\" (types: " + all + ")");
    }
  }

  bool values_given = false, min_given = false, max_given = false;
  for (const auto& [attr, v] : j.items()) {
    const std::string at = path + "." + attr;
    if (attr == "type") {
      continue;
    } else if (attr == "required") {
      ReadBool(v, at, problems, &f.required);
    } else if (attr == "repeated") {
      ReadBool(v, at, problems, &f.repeated);
    } else if (attr == "searchable") {
      ReadBool(v, at, problems, &f.searchable);
    } else if (attr == "values") {
      values_given = true;
      if (!v.is_array()) {
        problems->Add(at, "expected an array of strings, got " + JsonKind(v));
        continue;
      }
      std::set<std::string> seen;
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string vat = at + "[" + std::to_string(i) + "]";
        std::string value;
        if (!ReadString(v[i], vat, problems, &value)) continue;
        if (value.empty()) {
          problems->Add(vat, "enum values must not be empty");
        } else if (!seen.insert(value).second) {
          problems->Add(vat, "\"" + value + "\" is listed twice");
        } else {
          f.enum_values.push_back(value);
        }
      }
    } else if (attr == "sensitivity") {
      std::string s;
      if (!ReadString(v, at, problems, &s)) continue;
      if (s == "normal") {
        f.sensitivity = Sensitivity::kNormal;
      } else if (s == "confidential") {
        f.sensitivity = Sensitivity::kConfidential;
      } else {
        problems->Add(at, "unknown sensitivity \"" + s + "\" (normal or confidential)");
      }
    } else if (attr == "merge") {
      std::string s;
      if (!ReadString(v, at, problems, &s)) continue;
      bool known = false;
      for (const MergeName& m : kMergeNames) {
        if (s == m.name) {
          f.merge = m.rule;
          known = true;
        }
      }
      parsed.merge_given = known;
      if (!known) {
        problems->Add(at, "unknown merge rule \"" + s +
                              "\" (lww, review, server_only, add_wins_set, append_only)");
      }
    } else if (attr == "references") {
      if (ReadString(v, at, problems, &f.references)) CheckName(f.references, at, problems);
    } else if (attr == "max_length") {
      ReadPositiveInt(v, at, problems, &f.max_length);
    } else if (attr == "min") {
      min_given = ReadFiniteNumber(v, at, problems, &f.min);
    } else if (attr == "max") {
      max_given = ReadFiniteNumber(v, at, problems, &f.max);
    } else {
      problems->Add(at,
                    "unknown attribute (type, required, repeated, values, sensitivity, merge, "
                    "references, searchable, max_length, min, max)");
    }
  }

  // Attributes that make sense only for some types. Refused rather than ignored, so that a
  // schema never says more than the validator enforces.
  const FieldType t = f.type;
  if (t == FieldType::kEnum && f.enum_values.empty() && !values_given) {
    problems->Add(path + ".values", "an enum needs its list of values");
  } else if (t == FieldType::kEnum && f.enum_values.empty()) {
    problems->Add(path + ".values", "an enum needs at least one value");
  } else if (t != FieldType::kEnum && values_given) {
    problems->Add(path + ".values", "only enum fields have values");
  }
  if (f.repeated && TypeAllows(t, {FieldType::kStringSet, FieldType::kJson})) {
    problems->Add(path + ".repeated", std::string("a ") + FieldTypeName(t) +
                                          " field cannot be repeated (it already holds many)");
  }
  if (f.searchable && !TypeAllows(t, {FieldType::kText, FieldType::kEnum, FieldType::kPhone,
                                      FieldType::kEmail, FieldType::kUrl, FieldType::kStringSet})) {
    problems->Add(path + ".searchable", "only text-like fields can be searchable");
  }
  if (!f.references.empty() && t != FieldType::kText) {
    problems->Add(path + ".references", "only text fields (record ids) can reference a collection");
  }
  if (f.max_length > 0 &&
      !TypeAllows(t, {FieldType::kText, FieldType::kUrl, FieldType::kStringSet})) {
    problems->Add(path + ".max_length", "only text, url and string_set fields have a max_length");
  }
  if (min_given || max_given) {
    if (!TypeAllows(t, {FieldType::kInteger, FieldType::kDecimal, FieldType::kMoney})) {
      problems->Add(path, "only integer, decimal and money fields have min and max");
    } else if (!min_given || !max_given || !(f.min < f.max)) {
      // FieldDef keeps a range only when min < max; a lone "min" would silently mean nothing.
      problems->Add(path, "min and max must be given together, with min < max");
    }
  }
  if (f.merge == MergeRule::kAddWinsSet && t != FieldType::kStringSet) {
    problems->Add(path + ".merge", "add_wins_set applies only to string_set fields");
  }
  if (f.merge == MergeRule::kServerOnly && f.required) {
    problems->Add(path + ".merge",
                  "a server_only field cannot be required (reps could never "
                  "create the record)");
  }
  return parsed;
}

// Parses one collection's attributes and fields.
ParsedCollection ParseCollection(const std::string& name, const Json& j, const std::string& path,
                                 Problems* problems) {
  ParsedCollection parsed;
  parsed.def.name = name;
  CheckName(name, path, problems);
  if (!j.is_object()) {
    problems->Add(path, "expected an object with \"fields\", got " + JsonKind(j));
    return parsed;
  }
  bool fields_given = false;
  for (const auto& [attr, v] : j.items()) {
    const std::string at = path + "." + attr;
    if (attr == "fields") {
      fields_given = true;
      if (!v.is_object()) {
        problems->Add(at, "expected an object of fields, got " + JsonKind(v));
        continue;
      }
      for (const auto& [field_name, field] : v.items()) {
        parsed.fields.push_back(ParseField(field_name, field, at + "." + field_name, problems));
      }
    } else if (attr == "delete_rule") {
      std::string s;
      if (!ReadString(v, at, problems, &s)) continue;
      parsed.delete_rule_given = true;
      if (s == "delete_wins") {
        parsed.def.delete_rule = DeleteRule::kDeleteWins;
      } else if (s == "update_wins") {
        parsed.def.delete_rule = DeleteRule::kUpdateWins;
      } else {
        problems->Add(at, "unknown delete rule \"" + s + "\" (delete_wins or update_wins)");
      }
    } else if (attr == "append_only") {
      parsed.append_only_given = ReadBool(v, at, problems, &parsed.def.append_only);
    } else {
      problems->Add(at, "unknown attribute (fields, delete_rule, append_only)");
    }
  }
  if (!fields_given) problems->Add(path + ".fields", "missing");
  return parsed;
}

Result<ParsedSchema> ParseDocument(std::string_view text, Problems* problems) {
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(std::string("invalid schema: malformed JSON: ") + e.what());
  }
  ParsedSchema parsed;
  if (!j.is_object()) {
    problems->Add("schema", "expected a JSON object, got " + JsonKind(j));
    return parsed;
  }
  bool collections_given = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "version") {
      parsed.version_given = ReadPositiveInt(v, "version", problems, &parsed.version);
    } else if (key == "collections") {
      collections_given = true;
      if (!v.is_object()) {
        problems->Add("collections", "expected an object of collections, got " + JsonKind(v));
        continue;
      }
      for (const auto& [name, c] : v.items()) {
        parsed.collections.push_back(ParseCollection(name, c, "collections." + name, problems));
      }
    } else {
      problems->Add(key, "unknown member (version, collections)");
    }
  }
  if (!collections_given) problems->Add("collections", "missing");
  return parsed;
}

// Sets the merge rule of a field in an append-only collection: every field is append_only,
// and a field that explicitly asks for another rule contradicts its collection.
void ApplyAppendOnly(const CollectionDef& c, ParsedField* field, Problems* problems) {
  if (!c.append_only) return;
  if (field->merge_given && field->def.merge != MergeRule::kAppendOnly) {
    problems->Add("collections." + c.name + ".fields." + field->def.name + ".merge",
                  std::string("\"") + MergeRuleName(field->def.merge) +
                      "\" contradicts the collection's append_only");
  }
  field->def.merge = MergeRule::kAppendOnly;
}

// Checks that need the whole schema: references resolve, collections are not empty.
void CheckWhole(const std::vector<CollectionDef>& collections, Problems* problems) {
  for (const CollectionDef& c : collections) {
    if (c.fields.empty()) {
      problems->Add("collections." + c.name + ".fields", "a collection needs at least one field");
    }
    for (const FieldDef& f : c.fields) {
      if (f.references.empty()) continue;
      bool found = false;
      for (const CollectionDef& other : collections) found = found || other.name == f.references;
      if (!found) {
        problems->Add("collections." + c.name + ".fields." + f.name + ".references",
                      "no collection named \"" + f.references + "\"");
      }
    }
  }
}

std::string JoinValues(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// An extension may redeclare an existing field only to add enum values; anything else would
// change the meaning of data already stored and synced under the old definition.
void CheckRedeclaration(const std::string& path, const FieldDef& old_def, const FieldDef& new_def,
                        Problems* problems) {
  auto refuse = [&](const char* what, const std::string& from, const std::string& to) {
    problems->Add(path, std::string("cannot change the ") + what + " of an existing field (" +
                            from + " to " + to + ")");
  };
  if (old_def.type != new_def.type) {
    refuse("type", FieldTypeName(old_def.type), FieldTypeName(new_def.type));
    return;
  }
  if (old_def.merge != new_def.merge) {
    refuse("merge rule", MergeRuleName(old_def.merge), MergeRuleName(new_def.merge));
  }
  if (old_def.sensitivity != new_def.sensitivity) {
    refuse("sensitivity", SensitivityName(old_def.sensitivity),
           SensitivityName(new_def.sensitivity));
  }
  auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
  if (old_def.required != new_def.required) {
    refuse("required flag", yes_no(old_def.required), yes_no(new_def.required));
  }
  if (old_def.repeated != new_def.repeated) {
    refuse("repeated flag", yes_no(old_def.repeated), yes_no(new_def.repeated));
  }
  if (old_def.searchable != new_def.searchable) {
    refuse("searchable flag", yes_no(old_def.searchable), yes_no(new_def.searchable));
  }
  if (old_def.references != new_def.references) {
    refuse("references", "\"" + old_def.references + "\"", "\"" + new_def.references + "\"");
  }
  if (old_def.max_length != new_def.max_length) {
    refuse("max_length", std::to_string(old_def.max_length), std::to_string(new_def.max_length));
  }
  if (old_def.min != new_def.min || old_def.max != new_def.max) {
    refuse("range", "min/max as declared", "a different range");
  }
  for (const std::string& v : old_def.enum_values) {
    bool kept = false;
    for (const std::string& n : new_def.enum_values) kept = kept || n == v;
    if (!kept) {
      problems->Add(path + ".values",
                    "cannot remove the enum value \"" + v +
                        "\" (existing values: " + JoinValues(old_def.enum_values) + ")");
    }
  }
}

Json NumberJson(double x) {
  // Integral bounds print as integers ("min": 1, not 1.0), so ToJson reads like the source.
  if (std::floor(x) == x && std::fabs(x) < 9.0e15) return Json(static_cast<int64_t>(x));
  return Json(x);
}

}  // namespace

const char* FieldTypeName(FieldType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

const char* MergeRuleName(MergeRule rule) {
  for (const MergeName& m : kMergeNames) {
    if (m.rule == rule) return m.name;
  }
  return "unknown";
}

const FieldDef* CollectionDef::Field(std::string_view field_name) const {
  for (const FieldDef& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

Result<Schema> Schema::Parse(std::string_view json) {
  Problems problems;
  Result<ParsedSchema> parsed = ParseDocument(json, &problems);
  if (!parsed.ok()) return parsed.status();
  Schema schema;
  schema.version_ = parsed->version;
  for (ParsedCollection& pc : parsed->collections) {
    CollectionDef c = pc.def;
    for (ParsedField& pf : pc.fields) {
      ApplyAppendOnly(c, &pf, &problems);
      c.fields.push_back(pf.def);
    }
    schema.collections_.push_back(std::move(c));
  }
  CheckWhole(schema.collections_, &problems);
  if (!problems.empty()) return problems.ToStatus();
  return schema;
}

const Schema& Schema::FieldSales() {
  // Leaked on purpose: a reference handed out must stay valid during static destruction.
  static const Schema* const schema = [] {
    Result<Schema> parsed = Parse(model::BuiltInSchemaJson());
    if (!parsed.ok()) {
      // A bug in builtin_schema.cc, caught by the tests; there is no way to run without it.
      std::fprintf(stderr, "fieldsync: the built-in schema is invalid: %s\n",
                   parsed.status().message().c_str());
      std::abort();
    }
    return new Schema(std::move(parsed).value());
  }();
  return *schema;
}

Result<Schema> Schema::Extended(std::string_view json) const {
  // An empty extension (DatabaseOptions::schema_extension_json left unset) adds nothing.
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
  Problems problems;
  Result<ParsedSchema> parsed = ParseDocument(json, &problems);
  if (!parsed.ok()) return parsed.status();
  Schema merged = *this;
  if (parsed->version_given && parsed->version > merged.version_) {
    merged.version_ = parsed->version;
  }
  for (ParsedCollection& pc : parsed->collections) {
    const std::string path = "collections." + pc.def.name;
    CollectionDef* existing = nullptr;
    for (CollectionDef& c : merged.collections_) {
      if (c.name == pc.def.name) existing = &c;
    }
    if (existing == nullptr) {
      CollectionDef c = pc.def;
      for (ParsedField& pf : pc.fields) {
        ApplyAppendOnly(c, &pf, &problems);
        c.fields.push_back(pf.def);
      }
      merged.collections_.push_back(std::move(c));
      continue;
    }
    if (pc.delete_rule_given && pc.def.delete_rule != existing->delete_rule) {
      problems.Add(path + ".delete_rule",
                   std::string("cannot change the delete rule of an existing collection (") +
                       DeleteRuleName(existing->delete_rule) + " to " +
                       DeleteRuleName(pc.def.delete_rule) + ")");
    }
    if (pc.append_only_given && pc.def.append_only != existing->append_only) {
      problems.Add(path + ".append_only", "cannot change append_only of an existing collection");
    }
    for (ParsedField& pf : pc.fields) {
      ApplyAppendOnly(*existing, &pf, &problems);
      FieldDef* old_def = nullptr;
      for (FieldDef& f : existing->fields) {
        if (f.name == pf.def.name) old_def = &f;
      }
      if (old_def == nullptr) {
        existing->fields.push_back(pf.def);
        continue;
      }
      CheckRedeclaration(path + ".fields." + pf.def.name, *old_def, pf.def, &problems);
      // Enum values the host adds are appended; the existing order is kept.
      for (const std::string& v : pf.def.enum_values) {
        bool present = false;
        for (const std::string& o : old_def->enum_values) present = present || o == v;
        if (!present) old_def->enum_values.push_back(v);
      }
    }
  }
  CheckWhole(merged.collections_, &problems);
  if (!problems.empty()) return problems.ToStatus();
  return merged;
}

const CollectionDef* Schema::Collection(std::string_view name) const {
  for (const CollectionDef& c : collections_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string Schema::ToJson() const {
  Json collections = Json::object();
  for (const CollectionDef& c : collections_) {
    Json fields = Json::object();
    for (const FieldDef& f : c.fields) {
      Json fj = Json::object();
      fj["type"] = FieldTypeName(f.type);
      if (f.required) fj["required"] = true;
      if (f.repeated) fj["repeated"] = true;
      if (f.type == FieldType::kEnum) fj["values"] = f.enum_values;
      if (f.sensitivity != Sensitivity::kNormal) fj["sensitivity"] = SensitivityName(f.sensitivity);
      // Implied by an append-only collection; repeating it would read as a per-field choice.
      const bool implied = c.append_only && f.merge == MergeRule::kAppendOnly;
      if (f.merge != MergeRule::kLastWriterWins && !implied) fj["merge"] = MergeRuleName(f.merge);
      if (!f.references.empty()) fj["references"] = f.references;
      if (f.searchable) fj["searchable"] = true;
      if (f.max_length > 0) fj["max_length"] = f.max_length;
      if (f.min < f.max) {
        fj["min"] = NumberJson(f.min);
        fj["max"] = NumberJson(f.max);
      }
      fields[f.name] = std::move(fj);
    }
    Json cj = Json::object();
    if (c.append_only) cj["append_only"] = true;
    cj["delete_rule"] = DeleteRuleName(c.delete_rule);
    cj["fields"] = std::move(fields);
    collections[c.name] = std::move(cj);
  }
  Json out = Json::object();
  out["version"] = version_;
  out["collections"] = std::move(collections);
  return out.dump(2);
}

}  // namespace fieldsync
