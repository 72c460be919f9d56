#include "emit/table.h"

#include <algorithm>

namespace berth {

Table::Table(std::vector<Column> columns, TableStyle style)
    : columns_(std::move(columns)), style_(std::move(style)) {
  width_.reserve(columns_.size());
  for (const Column& c : columns_) {
    width_.push_back(c.fixed ? c.min_width
                             : std::max(c.min_width, style_.header ? c.header.size() : 0));
  }
}

void Table::Measure(std::span<const std::string> cells) {
  for (std::size_t c = 0; c < columns_.size() && c < cells.size(); ++c) {
    if (!columns_[c].fixed) width_[c] = std::max(width_[c], cells[c].size());
  }
}

void Table::MeasureWidths(std::span<const std::size_t> widths) {
  for (std::size_t c = 0; c < columns_.size() && c < widths.size(); ++c) {
    if (!columns_[c].fixed) width_[c] = std::max(width_[c], widths[c]);
  }
}

void Table::Measure(const Table& other) {
  for (std::size_t c = 0; c < width_.size() && c < other.width_.size(); ++c) {
    width_[c] = std::max(width_[c], other.width_[c]);
  }
}

void Table::AddRow(std::vector<std::string> cells) {
  Measure(cells);
  rows_.push_back(std::move(cells));
}

bool Table::Shown(std::size_t col) const { return !style_.skip_empty_columns || width_[col] > 0; }

std::string Table::FormatRow(std::span<const std::string> cells, const CellWriter& write) const {
  std::string out;
  AppendRow(out, cells, write);
  return out;
}

void Table::AppendRow(std::string& out, std::span<const std::string> cells, const CellWriter& write) const {
  std::size_t last = columns_.size();
  while (last > 0 && !Shown(last - 1)) --last;
  const std::size_t start = out.size();
  out += style_.indent;
  bool first = true;
  for (std::size_t c = 0; c < last; ++c) {
    if (!Shown(c)) continue;
    if (!first) out += style_.separator;
    first = false;
    const std::string_view text = c < cells.size() ? std::string_view(cells[c]) : std::string_view();
    const std::size_t pad = width_[c] > text.size() ? width_[c] - text.size() : 0;
    const bool right = columns_[c].align == Align::kRight;
    if (right) out.append(pad, ' ');
    if (write) {
      write(out, c, text);
    } else {
      out += text;
    }
    if (!right && (c + 1 < last || style_.pad_last)) out.append(pad, ' ');
  }
  if (style_.trim_trailing) {
    while (out.size() > start && out.back() == ' ') out.pop_back();
  }
}

std::string Table::FormatHeader(const CellWriter& write) const {
  std::vector<std::string> headers;
  headers.reserve(columns_.size());
  for (const Column& c : columns_) headers.push_back(c.header);
  return FormatRow(headers, write);
}

std::string Table::Format() const {
  std::string out;
  if (style_.header) out += FormatHeader() + "\n";
  for (const auto& row : rows_) out += FormatRow(row) + "\n";
  return out;
}

}  // namespace berth
