"""Customer portal: what a utility's end customers use."""
