// sync/src/merge.cc: the merge rules; see fieldsync/sync/merge.h for the contract.
//
// The RecordState is kept in a canonical form: after any sequence of Merge() calls it is a
// function of the *set* of changes merged, never of their order. Every rule below is written so
// that this holds, and tests/sync/merge_test.cc checks it over thousands of random histories.
//
// DECISIONS THE HEADER LEAVES TO THIS FILE
//
// Registers (kLastWriterWins, kServerOnly): the highest Version is kept. A cleared field is a
// register holding null, so that the clear keeps its version and beats older writes.
//
// kAppendOnly: the append-only fields of a record are written once, as a group. The group holds
// the values of the single change with the LOWEST Version that wrote any append-only field; a
// change with a higher version is ignored whole, one with a lower version replaces the group
// whole. Taking the minimum per field instead would mix two writers' fields (a visit with one
// rep's summary and another's outcome). "Lowest version" rather than "first to arrive" because
// arrival order differs between replicas and the minimum does not. Append-only values are never
// erased or hidden by deletes: deleting a visit hides it, re-creating it brings the original back
// (its own values are ignored, like any later write).
//
// kReview: `replaced` holds every version seen with its base; `versions` holds every version
// seen, with its value and author kept only while it is a head. Once any base names a version its
// value is dropped (it can never be a head again: bases only accumulate), so a note edited a
// hundred times stores one value, plus one small entry (version and base) per edit. That per-edit
// entry is the growth that remains; it is what lets an edit that arrives after its successors
// still be recognised as replaced. A base may name versions not seen yet; they are stripped on
// arrival and never become heads. An edit whose base names its own version is malformed.
//
// kAddWinsSet: `adds` holds only live tags (a tag is erased when its remove is seen, and an add
// whose tag was already removed is not inserted); `removed` keeps the tombstones forever so a
// late add stays removed. An element whose last tag is removed disappears from `adds`. A set
// field is written only through set_add / set_remove; a non-null `value` is malformed.
//
// Deletes and re-creations (the schema's DeleteRule):
//   - A re-creation starts the record anew, as Database::Put over a tombstone does: once the
//     record is re-created after its latest delete, field values written at or before that
//     delete are not part of it (not shown, not in conflicts).
//   - kDeleteWins also ERASES those values from the state as soon as the delete is known (a
//     contact's delete is often a personal-data erasure request): registers are removed, review
//     values stripped (their versions and bases stay, so the head structure is the same in every
//     order), set tags and their tombstones removed. Writes at or before the delete that arrive
//     later are dropped on arrival. Nothing erased could ever be shown again, so this changes no
//     visible outcome, only what is stored.
//   - kUpdateWins keeps everything: an update resurrects the record with its earlier fields. The
//     "newest field version" that decides liveness is the highest version of any register, any
//     review edit (head or not), any set tag (live or removed) or the re-creation. A change that
//     only removes tags or only writes append-only fields is not an update for this purpose.
//   - A record that no upsert ever touched (only a delete, or nothing) does not exist:
//     Materialize() returns nullopt.
//
// Materialize: registers holding null are left out (cleared); a review field shows its highest
// visible head (left out if that head is null); a set shows its elements sorted, and an empty set
// is left out, so "never tagged" and "all tags removed" look the same.
// Conflicts: none for a record that is not alive (resolving them would resurrect it under
// kUpdateWins; the caller can still read the state). The id is the hex SHA-256 of the collection,
// record id, field and the sorted head versions, each length-prefixed: every replica computes the
// same id for the same open conflict, and a new head (a new conflict) gets a new id.
//
// Assumption: a Version identifies one change (a node's HLC never issues a timestamp twice). Two
// different changes with the same Version would merge in arrival order.
//
// JSON storage format (RecordStateToJson), members left out when empty; a Version is
// [hlc_packed, "node"]; a value entry is [version, value] or [version, value, "author"]:
//   {"registers": {"grade": [[111, "n1"], "A", "user7"]},
//    "reviews": {"notes": {"versions": [[[111, "n1"], null], [[112, "n2"], "text", "u2"]],
//                          "replaced": [[[111, "n1"], []], [[112, "n2"], [[111, "n1"]]]]}},
//    "sets": {"tags": {"adds": {"vip": [[113, "n1"]]}, "removed": [["old", [110, "n2"]]]}},
//    "deleted": [105, "n3"], "recreated": [106, "n3"]}
// nlohmann::json objects keep their keys sorted, so the same state always dumps to the same text.
// Packed HLCs exceed 2^53: readers in languages whose numbers are doubles must parse them as
// 64-bit integers.
#include "fieldsync/sync/merge.h"

#include <openssl/evp.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace fieldsync::sync {
namespace {

using json = nlohmann::json;

bool AtOrBefore(const Version& v, const Version& limit) { return !(limit < v); }

RegisterValue Stripped(const Version& v) { return RegisterValue{json(), v, std::string()}; }

bool SameRegister(const RegisterValue& a, const RegisterValue& b) {
  return a.version == b.version && a.author == b.author && a.value == b.value;
}

bool SameReview(const ReviewState& a, const ReviewState& b) {
  return a.replaced == b.replaced &&
         std::equal(a.versions.begin(), a.versions.end(), b.versions.begin(), b.versions.end(),
                    [](const auto& x, const auto& y) {
                      return x.first == y.first && SameRegister(x.second, y.second);
                    });
}

bool SameSet(const OrSetState& a, const OrSetState& b) {
  return a.adds == b.adds && a.removed == b.removed;
}

template <typename Map, typename Eq>
bool SameMap(const Map& a, const Map& b, Eq eq) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [&](const auto& x, const auto& y) {
    return x.first == y.first && eq(x.second, y.second);
  });
}

// The merge rule of a field already in the state; a field the schema no longer knows (a state
// read from storage under another schema) is treated as last-writer-wins.
MergeRule RuleOf(const CollectionDef& collection, const std::string& field) {
  const FieldDef* def = collection.Field(field);
  return def != nullptr ? def->merge : MergeRule::kLastWriterWins;
}

// Whether kDeleteWins has erased writes at `v`: they are dropped on arrival.
bool Erased(const CollectionDef& collection, const RecordState& state, const Version& v) {
  return collection.delete_rule == DeleteRule::kDeleteWins && state.deleted &&
         AtOrBefore(v, *state.deleted);
}

std::set<Version> NamedVersions(const ReviewState& review) {
  std::set<Version> named;
  for (const auto& [version, base] : review.replaced) named.insert(base.begin(), base.end());
  return named;
}

// Whether any upsert left a trace: a record that only ever saw deletes does not exist.
bool Written(const RecordState& state) {
  return !state.registers.empty() || !state.reviews.empty() || !state.sets.empty() ||
         state.recreated.has_value();
}

// The highest version of any field write (kUpdateWins liveness).
std::optional<Version> NewestWrite(const RecordState& state) {
  std::optional<Version> newest = state.recreated;
  auto consider = [&newest](const Version& v) {
    if (!newest || *newest < v) newest = v;
  };
  for (const auto& [name, reg] : state.registers) consider(reg.version);
  for (const auto& [name, review] : state.reviews) {
    if (!review.replaced.empty()) consider(review.replaced.rbegin()->first);
    if (!review.versions.empty()) consider(review.versions.rbegin()->first);
  }
  for (const auto& [name, set] : state.sets) {
    for (const auto& [element, tags] : set.adds) {
      if (!tags.empty()) consider(*tags.rbegin());
    }
    for (const auto& [element, tag] : set.removed) consider(tag);
  }
  return newest;
}

bool Alive(const CollectionDef& collection, const RecordState& state) {
  if (!Written(state)) return false;
  if (!state.deleted) return true;
  if (state.recreated && *state.deleted < *state.recreated) return true;
  if (collection.delete_rule == DeleteRule::kUpdateWins) {
    std::optional<Version> newest = NewestWrite(state);
    return newest && *state.deleted < *newest;
  }
  return false;
}

// Versions at or before this are not part of the record: it was re-created after that delete.
std::optional<Version> HiddenUpTo(const RecordState& state) {
  if (state.deleted && state.recreated && *state.deleted < *state.recreated) return state.deleted;
  return std::nullopt;
}

bool Visible(const std::optional<Version>& hidden, const Version& v) {
  return !hidden || *hidden < v;
}

std::vector<RegisterValue> VisibleHeads(const ReviewState& review,
                                        const std::optional<Version>& hidden) {
  std::vector<RegisterValue> heads = review.Heads();
  heads.erase(std::remove_if(heads.begin(), heads.end(),
                             [&](const RegisterValue& h) { return !Visible(hidden, h.version); }),
              heads.end());
  return heads;
}

// What a user sees of a record: its visible values, and the heads of each open conflict.
struct View {
  std::optional<json> visible;
  std::map<std::string, std::vector<Version>> conflict_heads;
};

View ViewOf(const CollectionDef& collection, const RecordState& state) {
  View view;
  if (!Alive(collection, state)) return view;
  const std::optional<Version> hidden = HiddenUpTo(state);
  json out = json::object();
  for (const auto& [name, reg] : state.registers) {
    const bool append_only = RuleOf(collection, name) == MergeRule::kAppendOnly;
    if (reg.value.is_null() || (!append_only && !Visible(hidden, reg.version))) continue;
    out[name] = reg.value;
  }
  for (const auto& [name, review] : state.reviews) {
    std::vector<RegisterValue> heads = VisibleHeads(review, hidden);
    if (heads.empty()) continue;
    if (!heads.front().value.is_null()) out[name] = heads.front().value;
    if (heads.size() >= 2) {
      std::vector<Version>& versions = view.conflict_heads[name];
      for (const RegisterValue& h : heads) versions.push_back(h.version);
    }
  }
  for (const auto& [name, set] : state.sets) {
    json elements = json::array();
    for (const auto& [element, tags] : set.adds) {
      for (const Version& tag : tags) {
        if (Visible(hidden, tag) && set.removed.count({element, tag}) == 0) {
          elements.push_back(element);
          break;
        }
      }
    }
    if (!elements.empty()) out[name] = std::move(elements);
  }
  view.visible = std::move(out);
  return view;
}

// Fields whose visible value or open conflict differs between two views.
std::vector<std::string> ChangedFields(const View& before, const View& after) {
  static const json kEmpty = json::object();
  const json& b = before.visible ? *before.visible : kEmpty;
  const json& a = after.visible ? *after.visible : kEmpty;
  std::set<std::string> names;
  for (const auto& [name, value] : b.items()) names.insert(name);
  for (const auto& [name, value] : a.items()) names.insert(name);
  for (const auto& [name, heads] : before.conflict_heads) names.insert(name);
  for (const auto& [name, heads] : after.conflict_heads) names.insert(name);
  std::vector<std::string> changed;
  for (const std::string& name : names) {
    const auto bi = b.find(name);
    const auto ai = a.find(name);
    const bool value_changed =
        (bi == b.end()) != (ai == a.end()) || (bi != b.end() && ai != a.end() && *bi != *ai);
    const auto bc = before.conflict_heads.find(name);
    const auto ac = after.conflict_heads.find(name);
    const bool conflict_changed =
        (bc == before.conflict_heads.end()) != (ac == after.conflict_heads.end()) ||
        (bc != before.conflict_heads.end() && ac != after.conflict_heads.end() &&
         bc->second != ac->second);
    if (value_changed || conflict_changed) changed.push_back(name);
  }
  return changed;
}

// ---- validation ----------------------------------------------------------------------------

std::string Where(const Change& change) { return change.collection + "/" + change.record_id; }

Status Validate(const CollectionDef& collection, const Change& change) {
  if (change.collection != collection.name) {
    return Status::InvalidArgument("change " + change.change_id + " is for collection \"" +
                                   change.collection + "\", merged under \"" + collection.name +
                                   "\"");
  }
  if (change.record_id.empty()) {
    return Status::InvalidArgument("change " + change.change_id + " has no record id");
  }
  if (change.op == Change::Op::kDelete) {
    if (!change.fields.empty()) {
      return Status::InvalidArgument(Where(change) + ": a delete writes no fields");
    }
    if (change.recreate) {
      return Status::InvalidArgument(Where(change) + ": a delete cannot be a re-creation");
    }
    return Status::OK();
  }
  for (const auto& [name, write] : change.fields) {
    const FieldDef* def = collection.Field(name);
    const std::string at = Where(change) + ": " + name;
    if (def == nullptr) {
      return Status::InvalidArgument(at + ": unknown field (not a field of " + collection.name +
                                     ")");
    }
    const bool is_set = def->merge == MergeRule::kAddWinsSet;
    if (is_set && !write.value.is_null()) {
      return Status::InvalidArgument(
          at + ": an add-wins set is written with set_add and set_remove, not a value");
    }
    if (!is_set && (!write.set_add.empty() || !write.set_remove.empty())) {
      return Status::InvalidArgument(at +
                                     ": set_add and set_remove apply only to add_wins_set "
                                     "fields; this field is " +
                                     MergeRuleName(def->merge));
    }
    if (def->merge != MergeRule::kReview && !write.base.empty()) {
      return Status::InvalidArgument(at + ": a base applies only to review fields; this field is " +
                                     MergeRuleName(def->merge));
    }
    if (std::find(write.base.begin(), write.base.end(), change.version) != write.base.end()) {
      return Status::InvalidArgument(at + ": an edit cannot replace its own version");
    }
  }
  return Status::OK();
}

// ---- applying ------------------------------------------------------------------------------

// kDeleteWins: erases what a delete at `limit` covers (see the file comment).
void EraseUpTo(const CollectionDef& collection, const Version& limit, RecordState* state) {
  for (auto it = state->registers.begin(); it != state->registers.end();) {
    const bool append_only = RuleOf(collection, it->first) == MergeRule::kAppendOnly;
    if (!append_only && AtOrBefore(it->second.version, limit)) {
      it = state->registers.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, review] : state->reviews) {
    for (auto& [version, value] : review.versions) {
      if (AtOrBefore(version, limit)) value = Stripped(version);
    }
  }
  for (auto it = state->sets.begin(); it != state->sets.end();) {
    OrSetState& set = it->second;
    for (auto e = set.adds.begin(); e != set.adds.end();) {
      e->second.erase(e->second.begin(), e->second.upper_bound(limit));
      e = e->second.empty() ? set.adds.erase(e) : std::next(e);
    }
    for (auto r = set.removed.begin(); r != set.removed.end();) {
      r = AtOrBefore(r->second, limit) ? set.removed.erase(r) : std::next(r);
    }
    it = set.adds.empty() && set.removed.empty() ? state->sets.erase(it) : std::next(it);
  }
}

void ApplyDelete(const CollectionDef& collection, const Change& change, RecordState* state) {
  if (state->deleted && !(*state->deleted < change.version)) return;
  state->deleted = change.version;
  if (collection.delete_rule == DeleteRule::kDeleteWins) {
    EraseUpTo(collection, change.version, state);
  }
}

void ApplyAppendOnlyGroup(const CollectionDef& collection, const Change& change,
                          RecordState* state) {
  bool writes_group = false;
  for (const auto& [name, write] : change.fields) {
    if (RuleOf(collection, name) == MergeRule::kAppendOnly) writes_group = true;
  }
  if (!writes_group) return;
  std::optional<Version> first;
  for (const auto& [name, reg] : state->registers) {
    if (RuleOf(collection, name) != MergeRule::kAppendOnly) continue;
    if (!first || reg.version < *first) first = reg.version;
  }
  if (first && !(change.version < *first)) return;  // the first write stands
  for (auto it = state->registers.begin(); it != state->registers.end();) {
    const bool append_only = RuleOf(collection, it->first) == MergeRule::kAppendOnly;
    it = append_only ? state->registers.erase(it) : std::next(it);
  }
  for (const auto& [name, write] : change.fields) {
    if (RuleOf(collection, name) != MergeRule::kAppendOnly) continue;
    state->registers[name] = RegisterValue{write.value, change.version, change.author};
  }
}

void ApplyReview(const CollectionDef& collection, const Change& change, const std::string& name,
                 const FieldWrite& write, RecordState* state) {
  ReviewState& review = state->reviews[name];
  const Version& v = change.version;
  if (review.replaced.count(v) != 0) return;  // seen before: merging is idempotent
  const bool superseded = NamedVersions(review).count(v) != 0;
  std::vector<Version> base = write.base;
  std::sort(base.begin(), base.end());
  base.erase(std::unique(base.begin(), base.end()), base.end());
  for (const Version& b : base) {
    auto it = review.versions.find(b);
    if (it != review.versions.end()) it->second = Stripped(b);
  }
  review.replaced[v] = std::move(base);
  review.versions[v] = superseded || Erased(collection, *state, v)
                           ? Stripped(v)
                           : RegisterValue{write.value, v, change.author};
}

void ApplySet(const CollectionDef& collection, const Change& change, const std::string& name,
              const FieldWrite& write, RecordState* state) {
  OrSetState& set = state->sets[name];
  if (!Erased(collection, *state, change.version)) {
    for (const std::string& element : write.set_add) {
      if (set.removed.count({element, change.version}) == 0) {
        set.adds[element].insert(change.version);
      }
    }
  }
  for (const auto& [element, tag] : write.set_remove) {
    // The tag's own version decides erasure, not the remover's: under skewed clocks a remove can
    // carry a lower version than the add it observed.
    if (Erased(collection, *state, tag)) continue;
    set.removed.insert({element, tag});
    auto it = set.adds.find(element);
    if (it == set.adds.end()) continue;
    it->second.erase(tag);
    if (it->second.empty()) set.adds.erase(it);
  }
  if (set.adds.empty() && set.removed.empty()) state->sets.erase(name);
}

void ApplyUpsert(const CollectionDef& collection, const Change& change, RecordState* state) {
  const Version& v = change.version;
  if (change.recreate && (!state->recreated || *state->recreated < v)) state->recreated = v;
  ApplyAppendOnlyGroup(collection, change, state);
  for (const auto& [name, write] : change.fields) {
    switch (collection.Field(name)->merge) {
      case MergeRule::kLastWriterWins:
      case MergeRule::kServerOnly: {
        if (Erased(collection, *state, v)) break;
        auto it = state->registers.find(name);
        if (it == state->registers.end() || it->second.version < v) {
          state->registers[name] = RegisterValue{write.value, v, change.author};
        }
        break;
      }
      case MergeRule::kReview:
        ApplyReview(collection, change, name, write, state);
        break;
      case MergeRule::kAddWinsSet:
        ApplySet(collection, change, name, write, state);
        break;
      case MergeRule::kAppendOnly:
        break;  // ApplyAppendOnlyGroup
    }
  }
}

// ---- conflict ids --------------------------------------------------------------------------

void AppendPrefixed(std::string* out, const std::string& s) {
  out->append(std::to_string(s.size()));
  out->push_back(':');
  out->append(s);
}

std::string ConflictId(const std::string& collection, const std::string& record_id,
                       const std::string& field, const std::vector<RegisterValue>& heads) {
  std::vector<Version> versions;
  for (const RegisterValue& h : heads) versions.push_back(h.version);
  std::sort(versions.begin(), versions.end());
  std::string input;
  AppendPrefixed(&input, collection);
  AppendPrefixed(&input, record_id);
  AppendPrefixed(&input, field);
  for (const Version& v : versions) {
    AppendPrefixed(&input, std::to_string(v.hlc.packed()));
    AppendPrefixed(&input, v.node);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    size = 0;  // cannot happen with a built-in digest; an empty id is still the same everywhere
  }
  std::string hex;
  static const char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xF]);
  }
  return hex;
}

// ---- JSON ----------------------------------------------------------------------------------

json VersionToJson(const Version& v) { return json::array({v.hlc.packed(), v.node}); }

json ValueToJson(const RegisterValue& r) {
  json entry = json::array({VersionToJson(r.version), r.value});
  if (!r.author.empty()) entry.push_back(r.author);
  return entry;
}

Status Malformed(const std::string& at, const std::string& problem) {
  return Status::InvalidArgument("malformed record state: " + at + ": " + problem);
}

Status ParseVersion(const json& j, const std::string& at, Version* out) {
  if (!j.is_array() || j.size() != 2 || !j[1].is_string() ||
      !(j[0].is_number_unsigned() || (j[0].is_number_integer() && j[0].get<int64_t>() >= 0))) {
    return Malformed(at, "expected a version [hlc, \"node\"], got " + j.dump());
  }
  out->hlc = Hlc(j[0].get<uint64_t>());
  out->node = j[1].get<std::string>();
  return Status::OK();
}

Status ParseValue(const json& j, const std::string& at, RegisterValue* out) {
  if (!j.is_array() || j.size() < 2 || j.size() > 3 || (j.size() == 3 && !j[2].is_string())) {
    return Malformed(at, "expected [version, value] or [version, value, \"author\"]");
  }
  FIELDSYNC_RETURN_IF_ERROR(ParseVersion(j[0], at + "[0]", &out->version));
  out->value = j[1];
  out->author = j.size() == 3 ? j[2].get<std::string>() : std::string();
  return Status::OK();
}

Status ParseVersionList(const json& j, const std::string& at, std::vector<Version>* out) {
  if (!j.is_array()) return Malformed(at, "expected an array of versions");
  for (size_t i = 0; i < j.size(); ++i) {
    Version v;
    FIELDSYNC_RETURN_IF_ERROR(ParseVersion(j[i], at + "[" + std::to_string(i) + "]", &v));
    out->push_back(std::move(v));
  }
  return Status::OK();
}

Status ExpectObject(const json& j, const std::string& at) {
  return j.is_object() ? Status::OK() : Malformed(at, "expected an object");
}

Status ParseReview(const json& j, const std::string& at, ReviewState* out) {
  FIELDSYNC_RETURN_IF_ERROR(ExpectObject(j, at));
  for (const auto& [key, member] : j.items()) {
    const std::string here = at + "." + key;
    if (!member.is_array()) return Malformed(here, "expected an array");
    if (key == "versions") {
      for (size_t i = 0; i < member.size(); ++i) {
        RegisterValue r;
        FIELDSYNC_RETURN_IF_ERROR(ParseValue(member[i], here + "[" + std::to_string(i) + "]", &r));
        Version v = r.version;
        if (!out->versions.emplace(std::move(v), std::move(r)).second) {
          return Malformed(here, "version listed twice");
        }
      }
    } else if (key == "replaced") {
      for (size_t i = 0; i < member.size(); ++i) {
        const std::string entry_at = here + "[" + std::to_string(i) + "]";
        const json& entry = member[i];
        if (!entry.is_array() || entry.size() != 2) {
          return Malformed(entry_at, "expected [version, [base versions]]");
        }
        Version v;
        std::vector<Version> base;
        FIELDSYNC_RETURN_IF_ERROR(ParseVersion(entry[0], entry_at + "[0]", &v));
        FIELDSYNC_RETURN_IF_ERROR(ParseVersionList(entry[1], entry_at + "[1]", &base));
        if (!out->replaced.emplace(std::move(v), std::move(base)).second) {
          return Malformed(here, "version listed twice");
        }
      }
    } else {
      return Malformed(here, "unknown member (versions, replaced)");
    }
  }
  return Status::OK();
}

Status ParseSet(const json& j, const std::string& at, OrSetState* out) {
  FIELDSYNC_RETURN_IF_ERROR(ExpectObject(j, at));
  for (const auto& [key, member] : j.items()) {
    const std::string here = at + "." + key;
    if (key == "adds") {
      FIELDSYNC_RETURN_IF_ERROR(ExpectObject(member, here));
      for (const auto& [element, tags] : member.items()) {
        std::vector<Version> list;
        FIELDSYNC_RETURN_IF_ERROR(ParseVersionList(tags, here + "." + element, &list));
        std::set<Version>& set = out->adds[element];
        set.insert(list.begin(), list.end());
        if (set.size() != list.size()) return Malformed(here + "." + element, "tag listed twice");
      }
    } else if (key == "removed") {
      if (!member.is_array()) return Malformed(here, "expected an array");
      for (size_t i = 0; i < member.size(); ++i) {
        const std::string entry_at = here + "[" + std::to_string(i) + "]";
        const json& entry = member[i];
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string()) {
          return Malformed(entry_at, "expected [\"element\", version]");
        }
        Version tag;
        FIELDSYNC_RETURN_IF_ERROR(ParseVersion(entry[1], entry_at + "[1]", &tag));
        if (!out->removed.emplace(entry[0].get<std::string>(), std::move(tag)).second) {
          return Malformed(here, "tag listed twice");
        }
      }
    } else {
      return Malformed(here, "unknown member (adds, removed)");
    }
  }
  return Status::OK();
}

}  // namespace

// ---- public --------------------------------------------------------------------------------

std::vector<RegisterValue> ReviewState::Heads() const {
  const std::set<Version> named = NamedVersions(*this);
  std::vector<RegisterValue> heads;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (named.count(it->first) == 0) heads.push_back(it->second);
  }
  return heads;
}

std::vector<std::string> OrSetState::Elements() const {
  std::vector<std::string> elements;
  for (const auto& [element, tags] : adds) {
    for (const Version& tag : tags) {
      if (removed.count({element, tag}) == 0) {
        elements.push_back(element);
        break;
      }
    }
  }
  return elements;
}

bool operator==(const RecordState& a, const RecordState& b) {
  return a.deleted == b.deleted && a.recreated == b.recreated &&
         SameMap(a.registers, b.registers, SameRegister) &&
         SameMap(a.reviews, b.reviews, SameReview) && SameMap(a.sets, b.sets, SameSet);
}

Result<MergeOutcome> Merge(const CollectionDef& collection, const Change& change,
                           RecordState* state) {
  FIELDSYNC_RETURN_IF_ERROR(Validate(collection, change));
  const View before = ViewOf(collection, *state);
  if (change.op == Change::Op::kDelete) {
    ApplyDelete(collection, change, state);
  } else {
    ApplyUpsert(collection, change, state);
  }
  const View after = ViewOf(collection, *state);
  MergeOutcome outcome;
  outcome.changed_fields = ChangedFields(before, after);
  outcome.alive_changed = before.visible.has_value() != after.visible.has_value();
  return outcome;
}

std::optional<nlohmann::json> Materialize(const CollectionDef& collection,
                                          const RecordState& state) {
  return ViewOf(collection, state).visible;
}

std::vector<Conflict> Conflicts(const CollectionDef& collection, const std::string& record_id,
                                const RecordState& state) {
  std::vector<Conflict> conflicts;
  if (!Alive(collection, state)) return conflicts;
  const std::optional<Version> hidden = HiddenUpTo(state);
  for (const auto& [name, review] : state.reviews) {
    std::vector<RegisterValue> heads = VisibleHeads(review, hidden);
    if (heads.size() < 2) continue;
    Conflict c;
    c.collection = collection.name;
    c.record_id = record_id;
    c.field = name;
    c.id = ConflictId(collection.name, record_id, name, heads);
    c.heads = std::move(heads);
    conflicts.push_back(std::move(c));
  }
  return conflicts;
}

Status Authorize(const CollectionDef& collection, const Change& change, Role role) {
  if (change.collection != collection.name) {
    return Status::InvalidArgument("change " + change.change_id + " is for collection \"" +
                                   change.collection + "\", checked under \"" + collection.name +
                                   "\"");
  }
  for (const auto& [name, write] : change.fields) {
    const FieldDef* def = collection.Field(name);
    if (def == nullptr) {
      return Status::InvalidArgument(Where(change) + ": " + name +
                                     ": unknown field (not a field of " + collection.name + ")");
    }
    // Managers set credit levels with the back office; only reps are kept out.
    if (def->merge == MergeRule::kServerOnly && role == Role::kRep) {
      return Status::FailedPrecondition(name + " is set by the back office; a rep cannot write it");
    }
  }
  return Status::OK();
}

nlohmann::json RecordStateToJson(const RecordState& state) {
  json out = json::object();
  if (!state.registers.empty()) {
    json& registers = out["registers"];
    for (const auto& [name, reg] : state.registers) registers[name] = ValueToJson(reg);
  }
  if (!state.reviews.empty()) {
    json& reviews = out["reviews"];
    for (const auto& [name, review] : state.reviews) {
      json versions = json::array();
      for (const auto& [version, value] : review.versions) versions.push_back(ValueToJson(value));
      json replaced = json::array();
      for (const auto& [version, base] : review.replaced) {
        json list = json::array();
        for (const Version& b : base) list.push_back(VersionToJson(b));
        replaced.push_back(json::array({VersionToJson(version), std::move(list)}));
      }
      json& r = reviews[name];
      r = json::object();
      if (!versions.empty()) r["versions"] = std::move(versions);
      if (!replaced.empty()) r["replaced"] = std::move(replaced);
    }
  }
  if (!state.sets.empty()) {
    json& sets = out["sets"];
    for (const auto& [name, set] : state.sets) {
      json& s = sets[name];
      s = json::object();
      if (!set.adds.empty()) {
        json& adds = s["adds"];
        for (const auto& [element, tags] : set.adds) {
          json list = json::array();
          for (const Version& t : tags) list.push_back(VersionToJson(t));
          adds[element] = std::move(list);
        }
      }
      if (!set.removed.empty()) {
        json& removed = s["removed"];
        for (const auto& [element, tag] : set.removed) {
          removed.push_back(json::array({element, VersionToJson(tag)}));
        }
      }
    }
  }
  if (state.deleted) out["deleted"] = VersionToJson(*state.deleted);
  if (state.recreated) out["recreated"] = VersionToJson(*state.recreated);
  return out;
}

Result<RecordState> RecordStateFromJson(const nlohmann::json& j) {
  RecordState state;
  FIELDSYNC_RETURN_IF_ERROR(ExpectObject(j, "(top level)"));
  for (const auto& [key, member] : j.items()) {
    if (key == "registers") {
      FIELDSYNC_RETURN_IF_ERROR(ExpectObject(member, key));
      for (const auto& [name, entry] : member.items()) {
        FIELDSYNC_RETURN_IF_ERROR(ParseValue(entry, "registers." + name, &state.registers[name]));
      }
    } else if (key == "reviews") {
      FIELDSYNC_RETURN_IF_ERROR(ExpectObject(member, key));
      for (const auto& [name, entry] : member.items()) {
        FIELDSYNC_RETURN_IF_ERROR(ParseReview(entry, "reviews." + name, &state.reviews[name]));
      }
    } else if (key == "sets") {
      FIELDSYNC_RETURN_IF_ERROR(ExpectObject(member, key));
      for (const auto& [name, entry] : member.items()) {
        FIELDSYNC_RETURN_IF_ERROR(ParseSet(entry, "sets." + name, &state.sets[name]));
      }
    } else if (key == "deleted" || key == "recreated") {
      Version v;
      FIELDSYNC_RETURN_IF_ERROR(ParseVersion(member, key, &v));
      (key == "deleted" ? state.deleted : state.recreated) = std::move(v);
    } else {
      return Malformed(key, "unknown member (registers, reviews, sets, deleted, recreated)");
    }
  }
  return state;
}

}  // namespace fieldsync::sync
