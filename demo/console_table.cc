// demo/console_table.cc: see console_table.h.
#include "console_table.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace fieldsync::demo {
namespace {

std::string PadRight(std::string_view s, size_t width) {
  std::string out(s);
  for (size_t w = DisplayWidth(s); w < width; ++w) out += ' ';
  return out;
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    uint32_t cp = lead;
    size_t len = 1;
    if (lead >= 0xF0) {
      cp = lead & 0x07u;
      len = 4;
    } else if (lead >= 0xE0) {
      cp = lead & 0x0Fu;
      len = 3;
    } else if (lead >= 0xC0) {
      cp = lead & 0x1Fu;
      len = 2;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    i += len;
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
  }
  return width;
}

void PrintTable(const Row& columns, const Table& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const std::string& c : columns) widths.push_back(DisplayWidth(c));
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print_row = [&](const Row& cells) {
    std::string line = indent;
    for (size_t i = 0; i < cells.size(); ++i) {
      // The last column is not padded: no trailing spaces.
      line += i + 1 < cells.size() ? PadRight(cells[i], widths[i]) + "  " : cells[i];
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(columns);
  Row rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  print_row(rule);
  for (const Row& row : rows) print_row(row);
}

void PrintSection(const std::string& number, const std::string& chinese,
                  const std::string& english) {
  std::printf("\n%s  %s  %s\n", number.c_str(), chinese.c_str(), english.c_str());
}

}  // namespace fieldsync::demo
