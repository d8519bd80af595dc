"""Framework adapters (optional extras): ``rerank.integrations.langchain`` (pip install rerank[langchain]) and
``rerank.integrations.llama_index`` (pip install rerank[llama-index]). Importing one needs its framework."""
