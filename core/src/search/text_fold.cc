// search/text_fold.cc: being written.
