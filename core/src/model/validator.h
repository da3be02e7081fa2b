// model/validator.h: checks and normalizes records against a Schema before anything is written.
//
// Every bad field is reported, not only the first: a FieldError names the field (with an index
// for repeated fields, "phones[1]") and says why in words a rep can act on. Normalization:
// phones to E.164 with libphonenumber (default region for numbers without a country code), emails
// lowercased, text NFC-normalized, datetimes to UTC "YYYY-MM-DDTHH:MM:SS.sssZ", decimals to a
// canonical string, string sets deduplicated and sorted.
//
// Thread safety: a Validator is immutable after construction; Normalize is safe to call
// concurrently.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/schema.h"
#include "fieldsync/status.h"

namespace fieldsync::model {

struct FieldError {
  std::string field;    // "phones[1]", "grade", or "" for the record as a whole
  std::string problem;  // "'1380013' is not a valid phone number for region CN"
};

// "invalid customers record: phones[1]: ...; grade: ..."
std::string DescribeFieldErrors(std::string_view collection, const std::vector<FieldError>& errors);

// Parses a record from JSON text. Text that is not valid UTF-8 does not fail the parse: each
// string holding such bytes is marked, and Normalize reports the field ("not valid UTF-8").
// InvalidArgument for malformed JSON or a value that is not a JSON object.
Result<nlohmann::json> ParseRecordJson(std::string_view text);

class Validator {
 public:
  Validator(const Schema* schema, std::string default_region);

  // Checks `input` (a JSON object) against `collection`. A full record (is_patch = false) must
  // hold every required field; a patch is checked field by field, and null clears an optional
  // field (clearing a required one is an error). Unknown fields are errors; a top-level "id"
  // member is ignored (the caller handles it). Returns the normalized object, or
  // InvalidArgument with DescribeFieldErrors(...) as the message; `errors` (if not null)
  // receives the same list.
  Result<nlohmann::json> Normalize(const CollectionDef& collection, const nlohmann::json& input,
                                   bool is_patch, std::vector<FieldError>* errors = nullptr) const;

  const std::string& default_region() const { return default_region_; }

 private:
  const Schema* schema_;
  std::string default_region_;
};

}  // namespace fieldsync::model
