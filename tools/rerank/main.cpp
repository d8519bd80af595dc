// rerank — command-line front end. Each subcommand lives in its own file and only calls the library.
#include <cstdio>

#include "cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "rerank: two-stage retrieval engine. Scores (query, document) pairs with Hugging Face cross-encoders and embeds\n"
      "texts with bi-encoders, giving the same numbers as sentence-transformers."};
  app.require_subcommand(1);
  app.footer("Run `rerank COMMAND --help` for a command's options and an example.");
  app.set_version_flag("--version", "rerank 0.1.0");
  rerank::cli::register_predict(app);
  rerank::cli::register_embed(app);
  rerank::cli::register_rank(app);
  rerank::cli::register_tokenize(app);
  rerank::cli::register_bench(app);
  rerank::cli::register_index(app);
  rerank::cli::register_search(app);
  rerank::cli::register_pull(app);
  rerank::cli::register_eval(app);
  rerank::cli::register_serve(app);
  rerank::cli::register_answer(app);
  rerank::cli::reject_negative_unsigned(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const rerank::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rerank: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rerank: error: out of memory\n");
    return 3;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rerank: internal error: %s\n", e.what());
    return 4;
  }
  return 0;
}
