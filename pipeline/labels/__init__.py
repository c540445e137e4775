"""How synthetic labels are drawn: the dataset's own annotation style, visible-change masks,
and label statistics to compare synthetic sets with the real ones."""
