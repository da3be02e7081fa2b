// model/field_check.cc: CheckNormalizedFields (fieldsync/field_check.h) on the Validator.
#include "fieldsync/field_check.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "model/validator.h"

namespace fieldsync {

using nlohmann::json;

Status CheckNormalizedFields(const Schema& schema, std::string_view collection,
                             std::string_view fields_json, std::string_view set_elements_json) {
  const CollectionDef* c = schema.Collection(collection);
  if (c == nullptr)
    return Status::InvalidArgument("unknown collection '" + std::string(collection) + "'");
  Result<json> fields = model::ParseRecordJson(fields_json);
  if (!fields.ok()) return fields.status();
  // Values carry their country code (E.164), so the default region never decides anything here.
  const model::Validator validator(&schema, "CN");
  std::vector<model::FieldError> errors;
  Result<json> normalized = validator.Normalize(*c, *fields, /*is_patch=*/true, &errors);
  if (normalized.ok()) {
    for (const auto& [name, value] : fields->items()) {
      auto it = normalized->find(name);
      const bool same = value.is_null() ? it == normalized->end() || it->is_null()
                                        : it != normalized->end() && *it == value;
      if (!same) errors.push_back({name, "is not in the normal form a Database stores"});
    }
  }
  if (!set_elements_json.empty()) {
    Result<json> sets = model::ParseRecordJson(set_elements_json);
    if (!sets.ok()) return sets.status();
    std::vector<model::FieldError> set_errors;
    (void)validator.Normalize(*c, *sets, /*is_patch=*/true, &set_errors);
    errors.insert(errors.end(), set_errors.begin(), set_errors.end());
  }
  if (errors.empty()) return Status::OK();
  return Status::InvalidArgument(model::DescribeFieldErrors(collection, errors));
}

}  // namespace fieldsync
