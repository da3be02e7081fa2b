// model/builtin_schema.cc: the built-in field-sales schema as JSON (see builtin_schema.h).
//
// Field names are a published interface: hosts, the server and stored records use them, so a
// field is never renamed or retyped here. New fields may be added (bump "version"). Meanings,
// Chinese terms and the reasons for each rule are in docs/schema.md.
//
// Rules chosen here and why:
//   - customers: delete_rule update_wins. A customer file is shared by the team; if a colleague
//     edits the customer while another rep deletes it offline, the edit shows the customer is
//     still being worked, and losing a live file costs more than deleting a stray one again.
//   - contacts, orders: delete_wins. A deleted contact is often an erasure request for personal
//     data, which an edit must not bring back; a deleted order was cancelled or entered by
//     mistake, and resurrecting it would inflate revenue figures and ABC classes.
//   - visits: append_only (a visit report is a record of what happened and is never edited);
//     delete_wins, so a visit logged by mistake can still be removed.
//   - credit_level is server_only: set by finance, not by reps. credit_level, payment_terms and
//     budget_range are confidential (financial data seen only by some roles).
//   - free-text notes merge by review: two reps' concurrent notes are both kept for a person to
//     resolve, since neither is "later" in any meaningful sense.
#include "model/builtin_schema.h"

namespace fieldsync::model {

const char* BuiltInSchemaJson() {
  return R"json({
  "version": 1,
  "collections": {
    "customers": {
      "delete_rule": "update_wins",
      "fields": {
        "kind": {"type": "enum", "required": true, "values": ["person", "company"]},
        "name": {"type": "text", "required": true, "searchable": true, "max_length": 200},
        "company": {"type": "text", "searchable": true, "max_length": 200},
        "industry": {"type": "text", "max_length": 100},
        "scale": {"type": "enum", "values": ["large", "medium", "small", "micro"]},
        "region": {"type": "text", "max_length": 100},
        "address": {"type": "text", "max_length": 500},
        "postal_code": {"type": "text", "max_length": 16},
        "website": {"type": "url", "max_length": 2048},
        "phones": {"type": "phone", "repeated": true, "searchable": true},
        "emails": {"type": "email", "repeated": true, "searchable": true},
        "source_channel": {"type": "enum",
                           "values": ["referral", "exhibition", "web", "cold_visit",
                                      "advertising", "partner", "other"]},
        "lifecycle_stage": {"type": "enum",
                            "values": ["lead", "prospect", "active", "silent", "lost"]},
        "grade": {"type": "enum", "values": ["A", "B", "C", "D", "E"]},
        "tier": {"type": "enum", "values": ["key", "special", "general"]},
        "credit_level": {"type": "enum", "values": ["AAA", "AA", "A", "B", "C"],
                         "sensitivity": "confidential", "merge": "server_only"},
        "payment_terms": {"type": "text", "sensitivity": "confidential", "max_length": 500},
        "core_need": {"type": "text"},
        "pain_points": {"type": "text"},
        "budget_range": {"type": "text", "sensitivity": "confidential", "max_length": 200},
        "decision_cycle": {"type": "text", "max_length": 200},
        "owner_rep": {"type": "text", "max_length": 200},
        "tags": {"type": "string_set", "merge": "add_wins_set", "max_length": 50},
        "notes": {"type": "text", "merge": "review"},
        "custom": {"type": "json"}
      }
    },
    "contacts": {
      "delete_rule": "delete_wins",
      "fields": {
        "customer": {"type": "text", "required": true, "references": "customers"},
        "name": {"type": "text", "required": true, "searchable": true, "max_length": 200},
        "title": {"type": "text", "max_length": 100},
        "phones": {"type": "phone", "repeated": true, "searchable": true},
        "email": {"type": "email", "searchable": true},
        "decision_role": {"type": "enum",
                          "values": ["decision_maker", "influencer", "purchaser", "user"]},
        "birthday": {"type": "date"},
        "preferences": {"type": "text"},
        "relationship_notes": {"type": "text", "merge": "review"}
      }
    },
    "visits": {
      "append_only": true,
      "delete_rule": "delete_wins",
      "fields": {
        "customer": {"type": "text", "required": true, "references": "customers"},
        "contact": {"type": "text", "references": "contacts"},
        "rep": {"type": "text", "required": true, "max_length": 200},
        "start": {"type": "datetime", "required": true},
        "end": {"type": "datetime"},
        "channel": {"type": "enum",
                    "values": ["in_person", "phone", "email", "meeting", "video"]},
        "location": {"type": "geo_point"},
        "summary": {"type": "text"},
        "outcome": {"type": "text"},
        "satisfaction": {"type": "integer", "min": 1, "max": 5},
        "complaint": {"type": "bool"},
        "next_action": {"type": "text"},
        "next_action_due": {"type": "date"},
        "next_action_owner": {"type": "text", "max_length": 200}
      }
    },
    "orders": {
      "delete_rule": "delete_wins",
      "fields": {
        "customer": {"type": "text", "required": true, "references": "customers"},
        "date": {"type": "date", "required": true},
        "amount": {"type": "money", "required": true},
        "currency": {"type": "text", "max_length": 3},
        "products": {"type": "json"}
      }
    }
  }
})json";
}

}  // namespace fieldsync::model
