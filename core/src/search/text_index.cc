// search/text_index.cc: being written.
