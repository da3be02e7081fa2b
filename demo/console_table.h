// demo/console_table.h: aligned text tables and section titles for the demo's terminal output.
//
// Columns are aligned by display width, so Chinese text (two columns per character) lines up
// with ASCII. Output goes to stdout. Not thread-safe (one printing thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::demo {

using Row = std::vector<std::string>;
using Table = std::vector<Row>;

// Terminal columns taken by a UTF-8 string: East Asian wide characters take two.
size_t DisplayWidth(std::string_view s);

// A header row, a rule and the rows, columns aligned, each line indented by `indent`.
void PrintTable(const Row& columns, const Table& rows, const std::string& indent = "  ");

// "\n<number>  <chinese>  <english>" followed by a rule.
void PrintSection(const std::string& number, const std::string& chinese,
                  const std::string& english);

}  // namespace fieldsync::demo
