"""Tables of strings, as Markdown and as aligned plain text: the sections'
reports build their cells, these lay them out."""


def markdown_grid(header, body):
    """A Markdown table: `header` a list of titles, `body` lists of cell strings."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in body])


def text_grid(header, body):
    """The same as plain text, columns padded to their widest cell."""
    lines = [list(header)] + [list(row) for row in body]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(line, widths)) for line in lines)
