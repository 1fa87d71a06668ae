module shakedown.example/clients

go 1.19
