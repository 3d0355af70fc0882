"""``python -m maaskit_server [OPTIONS]`` is ``maaskit serve [OPTIONS]``."""

from .cli import serve

if __name__ == "__main__":
    serve(prog_name="python -m maaskit_server")
