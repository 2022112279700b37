"""From text files to a document tree with exact offsets: parsing, table of contents, company profiles."""
