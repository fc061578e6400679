# Docker Stacks defaults: listen on every interface of the container, port 8888, no browser.
c = get_config()  # noqa: F821
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
