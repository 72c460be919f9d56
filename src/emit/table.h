// Table: the one column aligner of berth's text output. Columns are sized after every row is
// in (or measured: a very large table can be measured in one pass and formatted in a second,
// without keeping its rows), left- or right-aligned, with a minimum width each. Widths count
// bytes: cells are expected to be ASCII or already TerminalSafe. The table is colour-free: a
// caller that styles cells passes a CellWriter, and padding is computed on the plain text.
// A Table is a plain value; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class Align : std::uint8_t { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
  std::size_t min_width = 0;
  // The width is min_width whatever the cells: a longer cell overflows and shifts the rest of
  // its row only (what fmt's "{:<12}" does). For layouts that must not reflow.
  bool fixed = false;
};

struct TableStyle {
  std::string indent;            // before the first column of every line
  std::string separator = "  ";  // between columns
  bool header = true;            // a header line first
  bool pad_last = false;         // pad a left-aligned last column to its width
  bool skip_empty_columns = false;  // hide a column whose header and cells are all empty
  bool trim_trailing = false;    // remove trailing spaces from every line
};

// Appends `text`, the cell of column `col`, to `out`, styled as the caller likes.
using CellWriter = std::function<void(std::string& out, std::size_t col, std::string_view text)>;

class Table {
 public:
  explicit Table(std::vector<Column> columns, TableStyle style = {});

  // Widens the columns to fit `cells` without keeping them. Missing cells count as empty;
  // cells beyond the columns are ignored (also by the formatters).
  void Measure(std::span<const std::string> cells);
  // The same from the cells' widths (bytes), for a caller that knows them without the text.
  void MeasureWidths(std::span<const std::size_t> widths);
  // Widens the columns to what `other` (a copy of this table, measured apart) measured.
  void Measure(const Table& other);
  // Keeps the row for Format() and measures it.
  void AddRow(std::vector<std::string> cells);

  std::size_t width(std::size_t col) const { return width_[col]; }
  std::size_t rows() const { return rows_.size(); }

  // One line without its newline, at the widths measured so far.
  std::string FormatHeader(const CellWriter& write = {}) const;
  std::string FormatRow(std::span<const std::string> cells, const CellWriter& write = {}) const;
  // The same line appended to `out` (a large table's rows into one buffer, no string a row).
  void AppendRow(std::string& out, std::span<const std::string> cells, const CellWriter& write = {}) const;
  // The header line (when style.header) and every kept row, each ending in '\n'.
  std::string Format() const;

 private:
  bool Shown(std::size_t col) const;
  std::vector<Column> columns_;
  TableStyle style_;
  std::vector<std::size_t> width_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace berth
