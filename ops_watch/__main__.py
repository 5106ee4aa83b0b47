from ops_watch.cli import main

main()
