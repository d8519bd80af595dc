// Internal helpers of the reports (src/eval/report.cpp, pipeline_report.cpp, svg.cpp, table.cpp): escaping,
// writing files, the page frame.
#pragma once
#include <filesystem>
#include <string>

namespace rerank::eval::detail {

std::string html_escape(const std::string& s);  ///< & < > "
std::string md_escape(const std::string& s);    ///< backslash before | * _ ` [ ]
std::string file_safe(const std::string& s);    ///< letters and digits kept, anything else '_'
/// Writes `text` to `path` (truncating); InputError naming the path when it cannot.
void write_text_file(const std::filesystem::path& path, const std::string& text);
/// Creates `dir` (and parents); InputError naming it when it cannot.
void make_report_dir(const std::filesystem::path& dir);
/// `<!DOCTYPE html>...<body><h1>title</h1>`: inline CSS only, nothing fetched.
std::string html_page_start(const std::string& title);
std::string html_page_end();
/// Series colours of the charts (8, cycled).
const char* palette(size_t i);

}  // namespace rerank::eval::detail
